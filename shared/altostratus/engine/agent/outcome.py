"""How a run ended, and the one function that turns that into the run's terminal event."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict

from altostratus.domain import events as ev
from altostratus.domain.enums import RunStatus
from altostratus.domain.errors import RunAlreadyFinishedError
from altostratus.domain.view import RunView
from altostratus.ports.event_log import EventLog

REACH_MAX_STEPS = "REACH_MAX_STEPS"
RUN_TIME_LIMIT = "RUN_TIME_LIMIT"


class Outcome(BaseModel):
    """The end of a run as the engine decided it (JSON-serializable for the state machine)."""

    model_config = ConfigDict(frozen=True)

    status: RunStatus
    output: Any = None
    reason: str | None = None
    errors: tuple[ev.RunError, ...] = ()
    # Model calls made after the last step (classifying the failure), not in any step's usage.
    usage: ev.Usage = ev.Usage()

    @classmethod
    def completed(cls, output: Any) -> Outcome:
        return cls(status=RunStatus.COMPLETED, output=output)

    @classmethod
    def failed(cls, reason: str, errors: tuple[ev.RunError, ...] = ()) -> Outcome:
        return cls(status=RunStatus.FAILED, reason=reason, errors=errors)

    @classmethod
    def canceled(cls) -> Outcome:
        return cls(status=RunStatus.CANCELED, reason="The run was canceled.")

    @classmethod
    def max_steps(cls, max_steps: int) -> Outcome:
        reason = f"Reached the maximum steps ({max_steps}) before the goal was achieved."
        error = ev.RunError(
            error_code=REACH_MAX_STEPS,
            reasoning=reason,
            confidence_float=1.0,
            error_type="SYSTEM_DEFINED_ERROR",
        )
        return cls(status=RunStatus.TIMED_OUT, reason=reason, errors=(error,))

    @classmethod
    def run_time_limit(cls, seconds: float) -> Outcome:
        reason = f"Reached the run's time limit ({seconds:g} s) before the goal was achieved."
        error = ev.RunError(
            error_code=RUN_TIME_LIMIT,
            reasoning=reason,
            confidence_float=1.0,
            error_type="SYSTEM_DEFINED_ERROR",
        )
        return cls(status=RunStatus.TIMED_OUT, reason=reason, errors=(error,))


def terminal_event(outcome: Outcome) -> ev.TerminalEvent:
    match outcome.status:
        case RunStatus.COMPLETED:
            return ev.RunCompleted(
                output=outcome.output, reason=outcome.reason, errors=outcome.errors, usage=outcome.usage
            )
        case RunStatus.FAILED:
            return ev.RunFailed(reason=outcome.reason, errors=outcome.errors, usage=outcome.usage)
        case RunStatus.TERMINATED:
            return ev.RunTerminated(reason=outcome.reason, errors=outcome.errors, usage=outcome.usage)
        case RunStatus.TIMED_OUT:
            return ev.RunTimedOut(reason=outcome.reason, errors=outcome.errors, usage=outcome.usage)
        case RunStatus.CANCELED:
            return ev.RunCanceled(reason=outcome.reason, errors=outcome.errors, usage=outcome.usage)
    raise ValueError(f"{outcome.status} is not a terminal status")


def finish_run(event_log: EventLog, run_id: str, outcome: Outcome) -> RunView:
    """Append the run's terminal event for `outcome`; idempotent, and a no-op returning the
    current view when the run already ended (a cancel that won the race, a retried handler)."""
    draft = ev.Draft(data=terminal_event(outcome), event_id=f"{run_id}:finished")
    try:
        return event_log.append(run_id, [draft]).view
    except RunAlreadyFinishedError:
        view = event_log.get_view(run_id)
        assert view is not None
        return view
