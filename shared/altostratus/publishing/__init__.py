"""Publishing every run event on a bus: the published shape (`detail`), its JSON Schemas, the
embedded outbox and the AWS stream publisher."""

from altostratus.publishing.detail import (
    TERMINAL_WITH_WEBHOOK,
    PublishedDetail,
    RunSummary,
    bus_message,
    published_detail,
)
from altostratus.publishing.outbox import OutboxPublisher
from altostratus.publishing.stream import StreamPublisher

__all__ = [
    "TERMINAL_WITH_WEBHOOK",
    "OutboxPublisher",
    "PublishedDetail",
    "RunSummary",
    "StreamPublisher",
    "bus_message",
    "published_detail",
]
