"""The run-slot port: a per-organization cap on runs executing at once, held as expiring
leases, with a waiting line so the organization's runs start oldest first.

Contract (every adapter passes `tests/contract/test_run_slots.py`):
- `acquire(org, run, cap=n, lease_s=t, since=s, wait_s=w)` admits the run when afterwards it
  holds one of the organization's slots 0..n-1 until now + t: it held one already (the lease
  is renewed, even past the cap, so lowering the cap never evicts a running run), or a slot
  was free, released or expired and no run submitted before it (`since`, then run id) is
  waiting in line for one. Taking a slot is atomic: two runs never hold one slot, and at most
  `n` take slots however many ask at once. Runs past a lowered cap still count.
- A refused run takes (or keeps) its place in the organization's line, by `since`, until now +
  w; the answer says how many runs wait ahead of it. Asking again renews the place; a run
  admitted or released leaves the line; a place nobody renews lapses, so a run whose
  execution died cannot hold up the others for ever. The same holds for slots: a lease nobody
  renews expires.
- A run holds at most one slot at a time (the state machine never asks for one run twice at
  once).
- `release(org, run, since=s)` frees the run's slot and its place in line; releasing a run that
  holds neither does nothing.
- `holders(org)` is the unexpired leases by slot number; `waiting(org)` the live line in order.
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


@dataclass(frozen=True)
class SlotAnswer:
    admitted: bool
    # Refused: how many of the organization's runs wait in line before this one (counted up
    # to AHEAD_COUNTED; a position further back reads as that).
    ahead: int = 0


AHEAD_COUNTED = 100


class RunSlots(Protocol):
    def acquire(
        self, org_id: str, run_id: str, *, cap: int, lease_s: float, since: datetime, wait_s: float
    ) -> SlotAnswer:
        """Hold (or keep holding) one of the organization's `cap` slots for `lease_s` seconds,
        or wait in line for one, by `since`, for `wait_s` seconds."""
        ...

    def release(self, org_id: str, run_id: str, *, since: datetime) -> None:
        """Free the run's slot and its place in line, if it has them."""
        ...

    def holders(self, org_id: str) -> list[SlotLease]:
        """The organization's unexpired leases, by slot number."""
        ...

    def waiting(self, org_id: str) -> list[str]:
        """The runs waiting in the organization's line, first first."""
        ...
