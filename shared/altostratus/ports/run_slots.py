"""The run-slot port: a per-organization cap on runs executing at once, held as expiring leases.

Contract (every adapter passes `tests/contract/test_run_slots.py`):
- `acquire(org, run, cap=n, lease_s=t)` is True when afterwards the run holds one of the
  organization's slots 0..n-1 until now + t: either it held one already (the lease is renewed,
  even past the cap, so lowering the cap never evicts a running run) or it took a slot that
  was free, released or expired. Taking a slot is atomic: two runs never hold one slot, and
  `n` runs at most take slots at once however many ask. False when `n` or more other runs
  hold unexpired leases (those past a lowered cap count too).
- A run holds at most one slot at a time (for one caller at a time per run: the state machine
  never asks for the same run's slot twice at once).
- A lease nobody renews expires by itself, so a run that died cannot keep its slot for ever.
- `release(org, run)` frees the run's slot; releasing a run that holds none does nothing.
- `holders(org)` is the unexpired leases, by slot number.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Protocol


@dataclass(frozen=True)
class SlotLease:
    org_id: str
    slot: int
    run_id: str
    expires_at: datetime


class RunSlots(Protocol):
    def acquire(self, org_id: str, run_id: str, *, cap: int, lease_s: float) -> bool:
        """Hold (or keep holding) one of the organization's `cap` slots for `lease_s` seconds."""
        ...

    def release(self, org_id: str, run_id: str) -> None:
        """Free the run's slot, if it holds one."""
        ...

    def holders(self, org_id: str) -> list[SlotLease]:
        """The organization's unexpired leases, by slot number."""
        ...
