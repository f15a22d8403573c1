"""The event-bus port: where every run event is published for integrations (and webhooks).

Contract:
- `publish` sends each message at least once, or raises `BusUnavailableError` naming the
  messages that were not accepted (the caller keeps them and publishes again later, so a
  subscriber may see a message twice: it must be idempotent).
- A message is EventBridge-shaped: `source`, `detail-type` and a JSON `detail`; subscribers
  select messages with EventBridge event patterns (`altostratus.publishing.patterns`).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Protocol

from altostratus.ports.errors import PortError

SOURCE = "altostratus"


@dataclass(frozen=True)
class BusMessage:
    detail_type: str
    detail: Mapping[str, Any]
    time: datetime
    source: str = SOURCE
    resources: tuple[str, ...] = field(default=())

    def envelope(self) -> dict[str, Any]:
        """The fields an event pattern is matched against, named as EventBridge names them."""
        return {
            "source": self.source,
            "detail-type": self.detail_type,
            "resources": list(self.resources),
            "detail": dict(self.detail),
        }


class BusUnavailableError(PortError):
    """Some messages were not accepted; `failed` holds their indexes in the published batch."""

    def __init__(self, message: str, *, failed: Sequence[int]) -> None:
        super().__init__(message)
        self.failed = tuple(failed)


class EventBus(Protocol):
    def publish(self, messages: Sequence[BusMessage]) -> None: ...
