"""What the state machine's tasks read and return: the run's view, and the result each task
hands to the next state (`continue` drives the slice loop, `code_wait_seconds` its waits for a
one-time code and `code_answers` what the looks between them heard, `outcome` the finish)."""

from __future__ import annotations

from collections.abc import Mapping
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
    code_answers: Mapping[str, int] | None = None,
) -> dict[str, Any]:
    """`code_wait_seconds` > 0: the run waits for a one-time code, and the state machine waits
    that long before the next slice (always present: a Choice on a missing field fails).
    `code_answers`: what the run's totp_url answered so far, counted by kind, from a look
    between slices that found no code; the state machine hands it to the next slice, so such
    a look stores nothing."""
    return {
        "run_id": run_id,
        "continue": more,
        "slice": slice_no,
        "outcome": outcome.model_dump(mode="json") if outcome is not None else None,
        "code_wait_seconds": code_wait_seconds,
        "code_answers": dict(code_answers) if code_answers is not None else None,
    }


def code_answers(event: Mapping[str, Any]) -> dict[str, int]:
    """The `code_answers` the state machine handed this task ({} when it has none)."""
    given = event.get("code_answers")
    if not isinstance(given, dict):
        return {}
    return {str(k): v for k, v in given.items() if isinstance(v, int) and not isinstance(v, bool)}
