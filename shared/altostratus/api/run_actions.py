"""What a caller may do to a run besides reading it, shared by the API's routes and the viewer's."""

from __future__ import annotations

from altostratus.api.errors import BadRequestError
from altostratus.api.services import ApiServices
from altostratus.domain import lifecycle
from altostratus.domain.enums import RunStatus
from altostratus.domain.errors import RunAlreadyFinishedError
from altostratus.domain.run_request import check_http_url
from altostratus.domain.view import RunView
from altostratus.wire.responses import WebhookReplayReport


def cancel_run(services: ApiServices, view: RunView) -> None:
    """A queued run ends now; a running one is asked to stop; a finished one is left alone."""
    drafts = lifecycle.cancel(view)
    if drafts:
        try:
            view = services.event_log.append(view.run_id, drafts).view
        except RunAlreadyFinishedError:
            return  # it ended while we were asking; canceling a finished run is a no-op
    if view.status is RunStatus.RUNNING and services.orchestrator is not None:
        services.orchestrator.stop(view.run_id)


def replay_webhook(services: ApiServices, view: RunView, webhook_url: str | None) -> WebhookReplayReport:
    """Rebuild, sign and send the finished run's webhook once, to `webhook_url` or its own."""
    run_id = view.run_id
    if not view.is_terminal:
        raise BadRequestError(
            f"Run {run_id} is still {view.status.value}; its webhook is sent once it finishes."
        )
    target = webhook_url or view.webhook_url
    if not target:
        raise BadRequestError(
            f"Run {run_id} has no webhook_url; pass one in the request body to send the webhook there."
        )
    try:
        check_http_url(target, field="webhook_url")
    except ValueError as exc:
        raise BadRequestError(str(exc)) from exc
    if services.webhooks is None:
        raise BadRequestError("Webhook delivery is not configured on this deployment.")
    return WebhookReplayReport.model_validate(services.webhooks.replay(view, target_url=webhook_url))
