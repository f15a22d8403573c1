"""The embedded runtime's persistent queue of webhook deliveries (SQS plays this part on AWS)."""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass
from typing import Protocol


@dataclass(frozen=True)
class PendingDelivery:
    delivery_id: str
    run_id: str
    due_at: float
    errors: int = 0


class DeliveryQueue(Protocol):
    def enqueue(self, delivery_id: str, run_id: str, *, due_at: float) -> None:
        """Add the delivery unless it is already queued (idempotent)."""
        ...

    def due(self, now: float, *, limit: int, exclude: Collection[str] = ()) -> list[PendingDelivery]:
        """Deliveries due at `now`, soonest first, leaving out `exclude` (those in flight)."""
        ...

    def reschedule(self, delivery_id: str, *, due_at: float, error: bool = False) -> None:
        """Try again at `due_at`; `error`: the attempt itself failed (counted apart)."""
        ...

    def complete(self, delivery_id: str) -> None:
        """The delivery is done (delivered or given up): it leaves the queue."""
        ...
