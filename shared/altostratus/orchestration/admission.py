"""Admission: at most `max_running_per_org` runs of one organization execute at once.

A run takes a slot (a lease in the run-slot store) when it starts; the others stay `queued`
and ask again — the state machine waits `retry_seconds` between asks, the embedded runner
picks another organization's run meanwhile. Each agent slice renews the lease, so a run that
dies loses its slot when the lease runs out; every end (finish, failure, cancel) releases it.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

from altostratus.ports.errors import StoreUnavailableError
from altostratus.ports.run_slots import RunSlots

logger = logging.getLogger("altostratus.orchestration")


@dataclass(frozen=True)
class Admission:
    slots: RunSlots | None = None
    max_running_per_org: int = 0  # 0: no cap
    # Longer than anything between two renewals: a slice, its last step, and the retries.
    lease_seconds: float = 900.0
    retry_seconds: int = 10

    @property
    def capped(self) -> bool:
        return self.slots is not None and self.max_running_per_org > 0

    def admit(self, org_id: str, run_id: str) -> bool:
        """Whether the run may execute now (it holds a slot, or there is no cap)."""
        if self.slots is None or self.max_running_per_org <= 0:
            return True
        return self.slots.acquire(org_id, run_id, cap=self.max_running_per_org, lease_s=self.lease_seconds)

    def renew(self, org_id: str, run_id: str) -> None:
        """Extend an executing run's lease. Never stops the run: one that lost its slot (its
        lease expired in a long pause) goes on, over the cap, until it ends."""
        try:
            if not self.admit(org_id, run_id):
                logger.warning("run %s executes without a slot: its lease expired and was taken", run_id)
        except StoreUnavailableError:
            logger.warning("could not renew the slot of run %s; its lease runs on", run_id, exc_info=True)

    def release(self, org_id: str, run_id: str) -> None:
        """Free the run's slot; if the store cannot be reached, the lease expires by itself."""
        if self.slots is None:
            return
        try:
            self.slots.release(org_id, run_id)
        except StoreUnavailableError:
            logger.warning("could not release the slot of run %s; it frees when its lease expires", run_id)
