"""What the state machine's tasks read and return: the run's view, and the result each task
hands to the next state (`continue` drives the slice loop, `code_wait_seconds` its waits for a
one-time code, `outcome` the finish)."""

from __future__ import annotations

from typing import Any

from altostratus.domain.lifecycle import RunOutcome
from altostratus.domain.view import RunView
from altostratus.orchestration.errors import UnknownRunError
from altostratus.ports.event_log import EventLog


def require_view(event_log: EventLog, run_id: str) -> RunView:
    view = event_log.get_view(run_id)
    if view is None:
        raise UnknownRunError(f"no run {run_id}")
    return view


def task_result(
    run_id: str,
    *,
    more: bool,
    slice_no: int,
    outcome: RunOutcome | None = None,
    code_wait_seconds: int = 0,
) -> dict[str, Any]:
    """`code_wait_seconds` > 0: the run waits for a one-time code, and the state machine waits
    that long before the next slice (always present: a Choice on a missing field fails)."""
    return {
        "run_id": run_id,
        "continue": more,
        "slice": slice_no,
        "outcome": outcome.model_dump(mode="json") if outcome is not None else None,
        "code_wait_seconds": code_wait_seconds,
    }
