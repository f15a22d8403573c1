"""A run's lifecycle decisions in one place: given a request or a run's view, which events to
append to create, start, resume, finish (with an outcome), fail or cancel it (pure functions).

Each decision that must happen at most once carries a fixed event id, so a retried writer (a
Lambda retried by Step Functions, a restarted embedded worker) appends it once.
"""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict

from altostratus.domain import events as ev
from altostratus.domain.enums import RunStatus, RunType, StepStatus
from altostratus.domain.redaction import redact_url
from altostratus.domain.run_request import RunTaskRequest
from altostratus.domain.view import RunView

CANCELED_BY_USER = "Canceled by the user"
STEP_INTERRUPTED = "The step was interrupted: its executor stopped before the step finished."
AGENT_STOPPED = "The agent stopped without reporting a result."
REACH_MAX_STEPS = "REACH_MAX_STEPS"
RUN_TIME_LIMIT = "RUN_TIME_LIMIT"


def started_event_id(run_id: str) -> str:
    return f"{run_id}:started"


def finished_event_id(run_id: str) -> str:
    """Every terminal event shares this id: whichever ending is written first wins."""
    return f"{run_id}:finished"


class RunOutcome(BaseModel):
    """How a run ended, as its executor decided it (JSON-serializable for the state machine)."""

    model_config = ConfigDict(frozen=True)

    status: RunStatus
    output: Any = None
    reason: str | None = None
    errors: tuple[ev.RunError, ...] = ()
    # Model calls made after the last step (classifying the failure), not in any step's usage.
    usage: ev.Usage = ev.Usage()

    @classmethod
    def completed(cls, output: Any) -> RunOutcome:
        return cls(status=RunStatus.COMPLETED, output=output)

    @classmethod
    def failed(cls, reason: str, errors: tuple[ev.RunError, ...] = ()) -> RunOutcome:
        return cls(status=RunStatus.FAILED, reason=reason, errors=errors)

    @classmethod
    def canceled(cls) -> RunOutcome:
        return cls(status=RunStatus.CANCELED, reason="The run was canceled.")

    @classmethod
    def max_steps(cls, max_steps: int) -> RunOutcome:
        reason = f"Reached the maximum steps ({max_steps}) before the goal was achieved."
        return cls._limit(REACH_MAX_STEPS, reason)

    @classmethod
    def run_time_limit(cls, seconds: float) -> RunOutcome:
        reason = f"Reached the run's time limit ({seconds:g} s) before the goal was achieved."
        return cls._limit(RUN_TIME_LIMIT, reason)

    @classmethod
    def _limit(cls, code: str, reason: str) -> RunOutcome:
        error = ev.RunError(
            error_code=code, reasoning=reason, confidence_float=1.0, error_type="SYSTEM_DEFINED_ERROR"
        )
        return cls(status=RunStatus.TIMED_OUT, reason=reason, errors=(error,))


def create_task_run(
    request: RunTaskRequest, *, org_id: str, api_key_id: str | None, sealed_request: str | None = None
) -> list[ev.Draft]:
    """RunCreated and RunQueued for a validated run_task request; `sealed_request` holds the
    request's secret parts (`RunTaskRequest.secret_parts`), sealed by the caller."""
    created = ev.RunCreated(
        org_id=org_id,
        run_type=request.engine.run_type,
        engine=request.engine,
        request=request.redacted(),
        request_echo=request.echo(),
        sealed_request=sealed_request,
        title=request.title,
        # Shown hidden like the rest of the request; the sender opens `sealed_request`.
        webhook_url=redact_url(request.webhook_url) if request.webhook_url else None,
        api_key_id=api_key_id,
        max_steps=request.effective_max_steps,
        max_screenshot_scrolls=request.max_screenshot_scrolls,
        browser_session_id=request.browser_session_id,
    )
    return [ev.Draft(data=created), ev.Draft(data=ev.RunQueued())]


def create_workflow_run(
    request: RunTaskRequest,
    *,
    org_id: str,
    api_key_id: str | None,
    workflow_permanent_id: str,
    parameters: dict[str, Any],
    run_with: str,
    ai_fallback: bool,
    script_id: str | None,
    script_revision_id: str | None,
    sealed_request: str | None = None,
) -> list[ev.Draft]:
    """RunCreated and RunQueued for a run of a workflow: `request` is the task the workflow
    describes (its goal, page and schema with this run's overrides)."""
    echo = {
        **request.echo(),
        "workflow_id": workflow_permanent_id,
        "parameters": parameters,
        "run_with": run_with,
        "ai_fallback": ai_fallback,
    }
    created = ev.RunCreated(
        org_id=org_id,
        run_type=RunType.WORKFLOW_RUN,
        engine=request.engine,
        request={**request.redacted(), "parameters": parameters},
        request_echo=echo,
        sealed_request=sealed_request,
        title=request.title,
        webhook_url=redact_url(request.webhook_url) if request.webhook_url else None,
        api_key_id=api_key_id,
        max_steps=request.effective_max_steps,
        max_screenshot_scrolls=request.max_screenshot_scrolls,
        browser_session_id=request.browser_session_id,
        workflow_id=workflow_permanent_id,
        run_with=run_with,
        ai_fallback=ai_fallback,
        script_id=script_id,
        script_revision_id=script_revision_id,
    )
    return [ev.Draft(data=created), ev.Draft(data=ev.RunQueued())]


def start(view: RunView, *, executor: str) -> list[ev.Draft]:
    """RunStarted for a run that has not started; nothing for one already running or ended."""
    if view.status not in (RunStatus.CREATED, RunStatus.QUEUED):
        return []
    return [ev.Draft(data=ev.RunStarted(executor=executor), event_id=started_event_id(view.run_id))]


def resume(view: RunView, reason: str) -> list[ev.Draft]:
    """RunResumed for a running run whose execution started again (it keeps its checkpoint)."""
    return [ev.Draft(data=ev.RunResumed(reason=reason, from_checkpoint=view.checkpoint_uri))]


def terminal_event(outcome: RunOutcome) -> ev.TerminalEvent:
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


def finish(run_id: str, outcome: RunOutcome) -> list[ev.Draft]:
    """The run's terminal event for `outcome`."""
    return [ev.Draft(data=terminal_event(outcome), event_id=finished_event_id(run_id))]


def fail(run_id: str, reason: str) -> list[ev.Draft]:
    return finish(run_id, RunOutcome.failed(reason))


def cancel(view: RunView) -> list[ev.Draft]:
    """Nothing for a finished run; any other run ends canceled at once. Its executor, if it has
    one, finds the run ended at its next append (or its watcher, within a second) and stops."""
    if view.is_terminal:
        return []
    canceled = ev.RunCanceled(reason=CANCELED_BY_USER)
    return [
        ev.Draft(data=ev.RunCancelRequested(reason=CANCELED_BY_USER)),
        ev.Draft(data=canceled, event_id=finished_event_id(view.run_id)),
    ]


def close_interrupted_step(view: RunView) -> list[ev.Draft]:
    """The step a dead executor left open, closed as interrupted (it then does not count
    toward max_steps); nothing when no step is open."""
    if view.current_step_id is None or view.is_terminal:
        return []
    finished = ev.StepFinished(
        step_id=view.current_step_id, status=StepStatus.INTERRUPTED, failure_reason=STEP_INTERRUPTED
    )
    return [ev.Draft(data=finished, event_id=f"{view.current_step_id}:finished")]
