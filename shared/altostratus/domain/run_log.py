"""What an operator's log says about a run's lifecycle: one line per run or step transition
(created, queued, started, resumed, cancel asked, finished; each step started and finished),
never the request, the output or anything else the run carries. At debug level, also one line
per action planned and executed, as its events hold it (secrets only as their placeholders)."""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from typing import Any

from altostratus.domain import events as ev
from altostratus.domain.enums import RunStatus
from altostratus.domain.view import RunView

_RUN_STATUS: dict[type, RunStatus] = {
    ev.RunCreated: RunStatus.CREATED,
    ev.RunQueued: RunStatus.QUEUED,
    ev.RunStarted: RunStatus.RUNNING,
    ev.RunResumed: RunStatus.RUNNING,
    ev.RunCompleted: RunStatus.COMPLETED,
    ev.RunFailed: RunStatus.FAILED,
    ev.RunTerminated: RunStatus.TERMINATED,
    ev.RunTimedOut: RunStatus.TIMED_OUT,
    ev.RunCanceled: RunStatus.CANCELED,
}


def lifecycle_lines(events: Iterable[ev.Event], view: RunView) -> Iterator[tuple[str, dict[str, Any]]]:
    """(message, fields) for each lifecycle event of one append; `view` is the run after it."""
    step: int | None = view.step_count or None
    for event in events:
        data = event.data
        fields: dict[str, Any] = {"run_id": event.run_id, "org": event.org_id, "event": data.type}
        if type(data) in _RUN_STATUS:
            status = _RUN_STATUS[type(data)].value
            ended_badly = isinstance(data, ev.RunFailed | ev.RunTerminated | ev.RunTimedOut | ev.RunCanceled)
            reason = (view.failure_reason or getattr(data, "reason", None)) if ended_badly else None
            if isinstance(data, ev.RunCreated | ev.RunQueued):
                step = None
            message = f"run {event.run_id} {status}" + (f": {reason}" if reason else "")
            fields |= {"status": status, "step": step, "failure_reason": reason}
        elif isinstance(data, ev.RunCancelRequested):
            message = f"run {event.run_id} asked to cancel"
            fields |= {"status": view.status.value, "step": step, "failure_reason": None}
        elif isinstance(data, ev.StepStarted):
            step = data.order
            message = f"run {event.run_id} step {step} started"
            fields |= {"status": "running", "step": step, "step_id": data.step_id, "failure_reason": None}
        elif isinstance(data, ev.StepFinished):
            reason = data.failure_reason
            message = f"run {event.run_id} step {step} {data.status.value}"
            message += f": {reason}" if reason else ""
            fields |= {
                "status": data.status.value,
                "step": step,
                "step_id": data.step_id,
                "failure_reason": reason,
                "ms": data.duration_ms,
            }
        else:
            continue
        yield message, fields


def action_lines(events: Iterable[ev.Event]) -> Iterator[tuple[str, dict[str, Any]]]:
    """(message, fields) for each action planned or executed in one append, for debug logs: what
    the model chose (the text it wrote, placeholders and all) and how it went, not the page."""
    for event in events:
        data = event.data
        fields: dict[str, Any] = {"run_id": event.run_id, "org": event.org_id, "event": data.type}
        if isinstance(data, ev.ActionPlanned):
            message = f"run {event.run_id} plans {data.tool} (action {data.action_order})"
            fields |= {
                "step_id": data.step_id,
                "action_order": data.action_order,
                "tool": data.tool,
                "action_type": data.action_type.value,
                "element_id": data.element_id,
                "text": data.text,
            }
        elif isinstance(data, ev.ActionExecuted):
            message = f"run {event.run_id} action {data.action_order} {data.status.value}"
            fields |= {
                "step_id": data.step_id,
                "action_order": data.action_order,
                "status": data.status.value,
                "error": data.error,
            }
        else:
            continue
        yield message, fields
