"""Decisions: given a request or a run's view, which events to append (pure functions)."""

from __future__ import annotations

from altostratus.domain import events as ev
from altostratus.domain.enums import StepStatus
from altostratus.domain.redaction import redact_url
from altostratus.domain.run_request import RunTaskRequest
from altostratus.domain.view import RunView

CANCELED_BY_USER = "Canceled by the user"
STEP_INTERRUPTED = "The step was interrupted: its executor stopped before the step finished."


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


def cancel(view: RunView) -> list[ev.Draft]:
    """Nothing for a finished run; any other run ends canceled at once. Its executor, if it has
    one, finds the run ended at its next append (or its watcher, within a second) and stops."""
    if view.is_terminal:
        return []
    return [
        ev.Draft(data=ev.RunCancelRequested(reason=CANCELED_BY_USER)),
        ev.Draft(data=ev.RunCanceled(reason=CANCELED_BY_USER), event_id=f"{view.run_id}:finished"),
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
