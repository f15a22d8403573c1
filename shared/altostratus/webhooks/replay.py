"""`retry_run_webhook`: rebuild the run's webhook from its current state, sign it, POST it once
and report what happened: the target, the status or error, and the time it took.

The replay is a delivery of its own (a fresh `webhook-id`, since the user asks for it to be
processed again), recorded in the run's log like any attempt: a successful replay turns the
run's webhook status to delivered. An unreachable receiver is reported in `error`; a target the
address policy refuses, or a run whose signing key is gone, is a 400.
"""

from __future__ import annotations

from typing import Any

from altostratus.domain.errors import RequestRefusedError
from altostratus.domain.redaction import redact_url
from altostratus.domain.view import RunView
from altostratus.webhooks.checks import refused_message
from altostratus.webhooks.delivery import MissingSigningKeyError, WebhookDeliverer, replay_delivery_id


class WebhookReplayService:
    """`ApiServices.webhooks`."""

    def __init__(self, deliverer: WebhookDeliverer) -> None:
        self._deliverer = deliverer

    def replay(self, view: RunView, *, target_url: str | None) -> dict[str, Any]:
        target = target_url or self._deliverer.target(view)
        if not target:
            raise RequestRefusedError(
                f"Run {view.run_id} has no webhook_url; pass one to send the webhook there."
            )
        reason = self._deliverer.sender.targets.refusal(target)
        if reason is not None:
            raise RequestRefusedError(refused_message("webhook_url", reason))
        delivery_id = replay_delivery_id(view.run_id)
        try:
            signed = self._deliverer.sign(view, webhook_id=delivery_id)
        except MissingSigningKeyError as exc:
            raise RequestRefusedError(
                f"Run {view.run_id} cannot be signed: the API key that created it no longer exists."
            ) from exc
        result = self._deliverer.post(target, signed)
        if result.refused:
            # DNS changed between the check above and the send.
            raise RequestRefusedError(
                refused_message("webhook_url", (result.error or "").removeprefix("refused: "))
            )
        self._deliverer.record(
            view.run_id,
            delivery_id=delivery_id,
            attempt=1,
            url=target,
            result=result,
            final_reason=None if result.delivered else f"replay: {result.describe()}",
        )
        return {
            "run_id": view.run_id,
            "run_type": view.run_type.value,
            "default_webhook_url": redact_url(view.webhook_url) if view.webhook_url else None,
            "target_webhook_url": redact_url(target),
            "payload": signed.payload,
            "headers": signed.headers,
            "status_code": result.status_code,
            "latency_ms": result.latency_ms,
            "response_body": result.response_body,
            "error": None if result.delivered else result.describe(),
        }
