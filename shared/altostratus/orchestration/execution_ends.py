"""Runs whose execution ended without the run ending.

The state machine records every failure it can catch ("Record failure"). A few ends escape it:
an error no Catch takes (`States.Runtime`), "Record failure" itself failing, the machine's time
limit, an operator stopping the execution. Step Functions reports each as an execution status
change (FAILED, TIMED_OUT, ABORTED); this turns such a change into the run's terminal event, so
no run stays `running` or `queued` with no execution behind it, and its webhook fires.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from typing import Any

from pydantic import BaseModel, ConfigDict

from altostratus.domain import lifecycle
from altostratus.domain.enums import RunStatus
from altostratus.domain.lifecycle import RunOutcome
from altostratus.orchestration.admission import Admission
from altostratus.orchestration.failure import failure_reason
from altostratus.ports.event_log import EventLog

logger = logging.getLogger("altostratus.orchestration")

# The EventBridge event Step Functions sends (source aws.states) and the statuses that matter.
STATUS_CHANGE = "Step Functions Execution Status Change"
ENDED_BADLY = ("FAILED", "TIMED_OUT", "ABORTED")

TIMED_OUT_REASON = (
    "The run's execution reached the orchestrator's time limit (waiting for a slot included) and was stopped."
)
ABORTED_REASON = "The run's execution was stopped by an operator before the run ended."


class ExecutionStatusChange(BaseModel):
    """The `detail` of a status-change event (only what is read)."""

    model_config = ConfigDict(extra="ignore")

    executionArn: str  # noqa: N815 (AWS's field names)
    name: str
    status: str
    error: str | None = None
    cause: str | None = None


def outcome_for(change: ExecutionStatusChange) -> RunOutcome:
    if change.status == "TIMED_OUT":
        return RunOutcome(status=RunStatus.TIMED_OUT, reason=TIMED_OUT_REASON)
    if change.status == "ABORTED":
        return RunOutcome.failed(ABORTED_REASON)
    return RunOutcome.failed(failure_reason({"Error": change.error, "Cause": change.cause}))


@dataclass
class ExecutionEnds:
    event_log: EventLog
    admission: Admission = field(default_factory=Admission)

    def record(self, detail: dict[str, Any]) -> dict[str, Any]:
        """End the run of an execution that ended badly, unless the run already ended; free its
        slot either way. Idempotent (EventBridge delivers at least once)."""
        change = ExecutionStatusChange.model_validate(detail)
        run_id = change.name  # executions are named by their run
        view = self.event_log.get_view(run_id)
        if view is None or change.status not in ENDED_BADLY:
            return {"run_id": run_id, "status": view.status.value if view else None, "recorded": False}
        recorded = not view.is_terminal
        if recorded:
            logger.error("execution of run %s ended %s without the run ending", run_id, change.status)
            view = self.event_log.end(run_id, lifecycle.finish(run_id, outcome_for(change)))
        self.admission.release(view.org_id, run_id, view.created_at)
        return {"run_id": run_id, "status": view.status.value, "recorded": recorded}
