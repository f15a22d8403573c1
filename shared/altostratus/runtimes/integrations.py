"""How events leave the log on each runtime: publishing and webhook delivery.

Embedded: the outbox publisher (cursor in SQLite) feeds the in-process bus; the bus's
terminal-with-webhook subscription feeds the persistent webhook queue; the delivery worker
drains it. AWS: the stream publisher puts events on EventBridge; the rule's queue feeds the
`webhook` function. Both use the one `WebhookDeliverer` that `compose.deliverer` builds.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Any

from altostratus.adapters.eventbridge_bus import EventBridgeBus
from altostratus.adapters.inprocess_bus import InProcessBus
from altostratus.adapters.sqlite_db import SQLiteDatabase
from altostratus.adapters.sqlite_outbox import SQLiteOutboxCursor
from altostratus.adapters.sqlite_webhook_queue import SQLiteWebhookQueue
from altostratus.ports.clock import Clock
from altostratus.ports.event_feed import EventFeed
from altostratus.ports.event_log import EventLog
from altostratus.publishing import TERMINAL_WITH_WEBHOOK, OutboxPublisher, StreamPublisher
from altostratus.publishing.background import BackgroundLoop
from altostratus.runtimes.settings import Settings
from altostratus.security.callback_targets import CallbackTargets
from altostratus.webhooks import (
    DeliveryWorker,
    QueueDelivery,
    WebhookDeliverer,
)

logger = logging.getLogger("altostratus.integrations")


@dataclass
class LocalIntegrations:
    """The embedded outbox and delivery worker; `start`/`stop` run them as background threads."""

    deliverer: WebhookDeliverer
    bus: InProcessBus
    outbox: OutboxPublisher
    worker: DeliveryWorker
    queue: SQLiteWebhookQueue
    outbox_loop: BackgroundLoop

    def start(self) -> None:
        self.worker.start()
        self.outbox_loop.start()

    def stop(self) -> None:
        # The outbox first, so nothing new reaches the worker while it winds down.
        self.outbox_loop.stop()
        self.worker.stop()

    def describe_targets(self) -> str:
        return describe_callback_targets(self.deliverer.sender.targets)


def describe_callback_targets(targets: CallbackTargets) -> str:
    policy = targets.policy
    opened = [str(n) for n in policy.networks] + [h.pattern for h in policy.hosts]
    if not opened:
        return "Webhooks and TOTP callbacks may reach public addresses only."
    return f"Webhooks and TOTP callbacks may reach public addresses and: {', '.join(opened)}."


def build_local_integrations(
    settings: Settings,
    *,
    db: SQLiteDatabase,
    event_log: EventLog,
    feed: EventFeed,
    deliverer: WebhookDeliverer,
    clock: Clock,
) -> LocalIntegrations:
    bus = InProcessBus()
    queue = SQLiteWebhookQueue(db)
    worker = DeliveryWorker(
        deliverer=deliverer,
        queue=queue,
        clock=clock,
        concurrency=settings.webhook_concurrency,
        poll_interval_s=settings.outbox_poll_interval_s,
    )
    bus.subscribe("webhooks", TERMINAL_WITH_WEBHOOK, worker.on_terminal_event)
    outbox = OutboxPublisher(
        read_after=lambda after, limit: feed.read_global(after=after, limit=limit),
        get_view=event_log.get_view,
        cursor=SQLiteOutboxCursor(db),
        bus=bus,
    )
    loop = BackgroundLoop("outbox", outbox.step, idle_s=settings.outbox_poll_interval_s)
    return LocalIntegrations(
        deliverer=deliverer, bus=bus, outbox=outbox, worker=worker, queue=queue, outbox_loop=loop
    )


def build_stream_publisher(settings: Settings, *, event_log: EventLog, events_client: Any) -> StreamPublisher:
    return StreamPublisher(
        get_view=event_log.get_view, bus=EventBridgeBus(events_client, bus_name=settings.event_bus_name)
    )


def build_queue_delivery(
    settings: Settings, *, deliverer: WebhookDeliverer, sqs_client: Any
) -> QueueDelivery:
    return QueueDelivery(deliverer=deliverer, sqs=sqs_client, queue_url=settings.webhook_queue_url)
