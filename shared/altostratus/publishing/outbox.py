"""The embedded outbox: every committed event, in commit order, onto the in-process bus.

The event log's global order (SQLite's `gseq`) is the outbox itself; a persisted cursor says
how far it has been published. The cursor moves only after the bus accepted a batch, so a
crash or restart re-publishes from the last saved position: at-least-once, in order, nothing
lost. Subscribers must therefore be idempotent (the webhook queue is: it keys on the delivery).
"""

from __future__ import annotations

import logging
from collections.abc import Callable

from altostratus.domain import events as ev
from altostratus.domain.view import RunView
from altostratus.ports.bus import EventBus
from altostratus.ports.event_feed import OutboxCursor
from altostratus.publishing.detail import bus_message

logger = logging.getLogger("altostratus.outbox")

# (after gseq, limit) -> [(gseq, event)] in commit order.
ReadAfter = Callable[[int, int], list[tuple[int, ev.Event]]]


class OutboxPublisher:
    def __init__(
        self,
        *,
        read_after: ReadAfter,
        get_view: Callable[[str], RunView | None],
        cursor: OutboxCursor,
        bus: EventBus,
        batch_size: int = 200,
    ) -> None:
        self._read_after = read_after
        self._get_view = get_view
        self._cursor = cursor
        self._bus = bus
        self._batch_size = batch_size

    def publish_batch(self) -> int:
        """Publish the next batch after the cursor; the number of events published."""
        batch = self._read_after(self._cursor.position(), self._batch_size)
        if not batch:
            return 0
        views: dict[str, RunView | None] = {}
        messages = []
        for _, event in batch:
            # One read per run per batch: the view is at least as new as every event in it.
            if event.run_id not in views:
                views[event.run_id] = self._get_view(event.run_id)
            messages.append(bus_message(event, views[event.run_id]))
        self._bus.publish(messages)
        self._cursor.advance(batch[-1][0])
        return len(batch)

    def step(self) -> bool:
        """One loop step for `BackgroundLoop`: True when a full batch suggests more is waiting."""
        return self.publish_batch() >= self._batch_size
