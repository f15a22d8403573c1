"""The per-organization cap on executing runs, as the settings configure it."""

from __future__ import annotations

from altostratus.orchestration.admission import Admission
from altostratus.ports.clock import Clock
from altostratus.ports.run_slots import RunSlots
from altostratus.runtimes.settings import Settings


def build_admission(settings: Settings, slots: RunSlots, clock: Clock) -> Admission:
    return Admission(
        slots=slots,
        max_running_per_org=settings.max_running_per_org,
        lease_seconds=settings.run_slot_lease_seconds,
        retry_seconds=settings.admission_retry_seconds,
        clock=clock,
    )
