"""What a run event looks like on the bus: `detail-type` = the event type, `detail` = the event
(secrets removed) and a summary of the run's view; its JSON Schemas are in events/schemas/.

`RunCreated.request` (the whole request, credentials hidden) and `sealed_request` (those
credentials, sealed) never leave the event log: the published RunCreated keeps only
`request_echo`, which is what get_run shows. URLs in events have their credentials hidden.
"""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict

from altostratus.domain import events as ev
from altostratus.domain.enums import RunStatus, RunType, WebhookStatus
from altostratus.domain.redaction import redact_url
from altostratus.domain.view import RunView
from altostratus.ports.bus import BusMessage
from altostratus.wire.render import wire_time

# EventBridge accepts entries up to 256 KB; leave room for the envelope and the summary.
MAX_DETAIL_BYTES = 200_000
TERMINAL_TYPES: tuple[str, ...] = tuple(sorted(ev.TERMINAL_EVENT_TYPES))
# Fields of an event's data that never reach the bus.
_PRIVATE_FIELDS: dict[str, frozenset[str]] = {
    "RunCreated": frozenset({"request", "sealed_request", "stored_parts"})
}
# URL fields (of an event's data, and of a request echo) whose password part is masked.
_URL_FIELDS = ("webhook_url", "totp_url", "url", "browser_address")


class _Wire(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class RunSummary(_Wire):
    """The run as it stood when the event was published (at least as new as the event)."""

    run_id: str
    org_id: str
    run_type: RunType
    status: RunStatus
    version: int
    title: str | None = None
    created_at: str
    modified_at: str
    finished_at: str | None = None
    step_count: int = 0
    failure_reason: str | None = None
    # The webhook rule selects on this; the URL itself stays in the run.
    has_webhook_url: bool
    webhook_status: WebhookStatus | None = None
    webhook_failure_reason: str | None = None


class PublishedEvent(_Wire):
    event_id: str
    run_id: str
    seq: int
    org_id: str
    at: str
    schema_version: int
    type: str
    # The event's payload; null only when it was too large for the bus (`truncated`).
    data: dict[str, Any] | None


class PublishedDetail(_Wire):
    event: PublishedEvent
    # None only if the run's view could not be read (the event is published regardless).
    run: RunSummary | None
    truncated: bool = False


def public_data(event: ev.Event) -> dict[str, Any]:
    """The event's payload as it may leave the log."""
    data = event.data.model_dump(mode="json", exclude=set(_PRIVATE_FIELDS.get(event.type, ())))
    _mask_url_passwords(data)
    if isinstance(data.get("request_echo"), dict):
        _mask_url_passwords(data["request_echo"])
    return data


def _mask_url_passwords(fields: dict[str, Any]) -> None:
    for name in _URL_FIELDS:
        if isinstance(fields.get(name), str):
            fields[name] = redact_url(fields[name])


def run_summary(view: RunView) -> RunSummary:
    return RunSummary(
        run_id=view.run_id,
        org_id=view.org_id,
        run_type=view.run_type,
        status=view.status,
        version=view.version,
        title=view.title,
        created_at=wire_time(view.created_at) or "",
        modified_at=wire_time(view.modified_at) or "",
        finished_at=wire_time(view.finished_at),
        step_count=view.step_count,
        failure_reason=view.failure_reason,
        has_webhook_url=bool(view.webhook_url),
        webhook_status=view.webhook.status if view.webhook else None,
        webhook_failure_reason=view.webhook.failure_reason if view.webhook else None,
    )


def published_detail(event: ev.Event, view: RunView | None) -> PublishedDetail:
    published = PublishedEvent(
        event_id=event.event_id,
        run_id=event.run_id,
        seq=event.seq,
        org_id=event.org_id,
        at=wire_time(event.at) or "",
        schema_version=event.schema_version,
        type=event.type,
        data=public_data(event),
    )
    detail = PublishedDetail(event=published, run=run_summary(view) if view else None)
    if len(detail.model_dump_json().encode()) > MAX_DETAIL_BYTES:
        # An output of hundreds of KB cannot ride on EventBridge; consumers read it with get_run.
        detail = PublishedDetail(
            event=published.model_copy(update={"data": None}), run=detail.run, truncated=True
        )
    return detail


def bus_message(event: ev.Event, view: RunView | None) -> BusMessage:
    detail = published_detail(event, view)
    return BusMessage(detail_type=event.type, detail=detail.model_dump(mode="json"), time=event.at)


# The EventBridge rule (template.yaml `WebhookRule`) and the embedded delivery worker both
# select deliveries with this pattern; a test keeps the two equal.
TERMINAL_WITH_WEBHOOK: dict[str, Any] = {
    "source": ["altostratus"],
    "detail-type": list(TERMINAL_TYPES),
    "detail": {"run": {"has_webhook_url": [True]}},
}
