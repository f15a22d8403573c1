"""Admission: at most `max_running_per_org` runs of one organization execute at once.

A run takes a slot (a lease in the run-slot store) when it starts; the others stay `queued`,
in a line by submission time, and ask again — the state machine waits between asks, the
embedded runner picks another organization's run meanwhile. Each agent slice renews the
lease, so a run that dies loses its slot when the lease runs out; every end (finish, failure,
cancel) releases it.

On AWS each ask is a few billed state transitions, and an execution's history is bounded, so
the wait before asking again grows with the run's place in line and with how long it has
waited: the first in line asks every `retry_seconds`, those far back or waiting for hours at
most every MAX_RETRY_SECONDS.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from datetime import datetime

from altostratus.ports.clock import Clock, SystemClock
from altostratus.ports.errors import StoreUnavailableError
from altostratus.ports.run_slots import RunSlots, SlotAnswer

logger = logging.getLogger("altostratus.orchestration")

MAX_RETRY_SECONDS = 300
# A place in line outlives the longest wait between two asks, and the time an ask takes.
LINE_PLACE_SECONDS = MAX_RETRY_SECONDS + 120


@dataclass(frozen=True)
class Admission:
    slots: RunSlots | None = None
    max_running_per_org: int = 0  # 0: no cap
    # Longer than anything between two renewals: a slice, its last step, and the retries.
    lease_seconds: float = 900.0
    retry_seconds: int = 10
    clock: Clock = field(default_factory=SystemClock)

    @property
    def capped(self) -> bool:
        return self.slots is not None and self.max_running_per_org > 0

    def admit(self, org_id: str, run_id: str, since: datetime) -> SlotAnswer:
        """Whether the run may execute now (it holds a slot, or there is no cap)."""
        if self.slots is None or self.max_running_per_org <= 0:
            return SlotAnswer(admitted=True)
        return self.slots.acquire(
            org_id,
            run_id,
            cap=self.max_running_per_org,
            lease_s=self.lease_seconds,
            since=since,
            wait_s=LINE_PLACE_SECONDS,
        )

    def wait_seconds(self, answer: SlotAnswer, since: datetime) -> int:
        """How long a refused run waits before asking again."""
        waited = (self.clock.now() - since).total_seconds()
        wait = max(self.retry_seconds * (1 + answer.ahead), waited / 60)
        return int(min(MAX_RETRY_SECONDS, max(self.retry_seconds, wait)))

    def renew(self, org_id: str, run_id: str, since: datetime) -> None:
        """Extend an executing run's lease. Never stops the run: one that lost its slot (its
        lease expired in a long pause) goes on, over the cap, until it ends."""
        try:
            if not self.admit(org_id, run_id, since).admitted:
                logger.warning("run %s executes without a slot: its lease expired and was taken", run_id)
        except StoreUnavailableError:
            logger.warning("could not renew the slot of run %s; its lease runs on", run_id, exc_info=True)

    def release(self, org_id: str, run_id: str, since: datetime) -> None:
        """Free the run's slot and place in line; if the store cannot be reached, both lapse
        by themselves."""
        if self.slots is None:
            return
        try:
            self.slots.release(org_id, run_id, since=since)
        except StoreUnavailableError:
            logger.warning("could not release the slot of run %s; it frees when its lease expires", run_id)
