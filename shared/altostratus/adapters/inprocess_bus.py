"""The embedded event bus: subscribers in this process, selected by EventBridge patterns.

`publish` hands each message to every matching subscriber before it returns, and raises if
one of them fails, so the outbox keeps its cursor and publishes the batch again: delivery to
subscribers is at-least-once, like EventBridge's.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from altostratus.domain.event_patterns import check_pattern, matches
from altostratus.ports.bus import BusMessage, BusUnavailableError

logger = logging.getLogger("altostratus.bus")

Subscriber = Callable[[BusMessage], None]


@dataclass(frozen=True)
class _Subscription:
    name: str
    pattern: Mapping[str, Any]
    handler: Subscriber


class InProcessBus:
    def __init__(self) -> None:
        self._subscriptions: list[_Subscription] = []
        self._lock = threading.Lock()

    def subscribe(self, name: str, pattern: Mapping[str, Any], handler: Subscriber) -> None:
        check_pattern(pattern)
        with self._lock:
            self._subscriptions.append(_Subscription(name, pattern, handler))

    def publish(self, messages: Sequence[BusMessage]) -> None:
        with self._lock:
            subscriptions = list(self._subscriptions)
        failed: list[int] = []
        for index, message in enumerate(messages):
            envelope = message.envelope()
            for subscription in subscriptions:
                if not matches(subscription.pattern, envelope):
                    continue
                try:
                    subscription.handler(message)
                except Exception:
                    logger.exception("subscriber %s failed on %s", subscription.name, message.detail_type)
                    failed.append(index)
        if failed:
            raise BusUnavailableError(f"{len(failed)} subscriber deliveries failed", failed=failed)
