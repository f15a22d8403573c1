"""The run-slot contract (see altostratus.ports.run_slots), on SQLite and DynamoDB."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from altostratus.adapters.dynamodb_run_slots import DynamoDBRunSlots
from altostratus.adapters.sqlite_db import SQLiteDatabase
from altostratus.adapters.sqlite_run_slots import SQLiteRunSlots
from altostratus.ports.run_slots import RunSlots, SlotAnswer
from tests.support.aws import moto_aws
from tests.support.clock import FakeClock

LEASE_S = 60.0
WAIT_S = 30.0
EPOCH = datetime(2026, 1, 1, tzinfo=UTC)


def submitted(run_id: str) -> datetime:
    """Runs are submitted in the order of their number: r2 after r1."""
    return EPOCH + timedelta(seconds=int(run_id.lstrip("abcdefghijklmnopqrstuvwxyz_")))


@dataclass
class Slots:
    store: RunSlots
    clock: FakeClock

    def ask(self, run_id: str, *, cap: int = 2, org_id: str = "o_1") -> SlotAnswer:
        since = submitted(run_id)
        return self.store.acquire(org_id, run_id, cap=cap, lease_s=LEASE_S, since=since, wait_s=WAIT_S)

    def take(self, run_id: str, *, cap: int = 2, org_id: str = "o_1") -> bool:
        return self.ask(run_id, cap=cap, org_id=org_id).admitted

    def release(self, run_id: str, org_id: str = "o_1") -> None:
        self.store.release(org_id, run_id, since=submitted(run_id))

    def held(self, org_id: str = "o_1") -> list[str]:
        return [lease.run_id for lease in self.store.holders(org_id)]


@pytest.fixture(params=["sqlite", "dynamodb"])
def slots(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Slots]:
    clock = FakeClock()
    if request.param == "sqlite":
        db = SQLiteDatabase(tmp_path / "alto.db")
        yield Slots(SQLiteRunSlots(db, clock), clock)
        db.close()
    else:
        with moto_aws() as aws:
            yield Slots(DynamoDBRunSlots(aws.dynamodb, state_table=aws.state_table, clock=clock), clock)


def test_runs_take_slots_up_to_the_cap_then_are_refused(slots: Slots) -> None:
    assert slots.take("r1") and slots.take("r2")
    assert not slots.take("r3")
    assert slots.held() == ["r1", "r2"]
    leases = slots.store.holders("o_1")
    assert [lease.slot for lease in leases] == [0, 1]
    assert all(lease.expires_at > slots.clock.now() for lease in leases)


def test_a_holder_asking_again_renews_its_slot_and_takes_no_other(slots: Slots) -> None:
    assert slots.take("r1")
    before = slots.store.holders("o_1")[0].expires_at
    slots.clock.advance(timedelta(seconds=LEASE_S - 1))
    assert slots.take("r1")
    assert slots.held() == ["r1"]
    assert slots.store.holders("o_1")[0].expires_at > before
    slots.clock.advance(timedelta(seconds=LEASE_S - 1))  # past the first lease, within the renewed one
    assert slots.take("r2") and not slots.take("r3")
    assert slots.held() == ["r1", "r2"]


def test_a_released_slot_goes_to_the_next_run(slots: Slots) -> None:
    assert slots.take("r1") and slots.take("r2") and not slots.take("r3")
    slots.release("r1")
    slots.release("r1")  # again: nothing to do
    slots.release("r99")
    assert slots.held() == ["r2"]
    assert slots.take("r3")
    assert sorted(slots.held()) == ["r2", "r3"]


def test_a_lease_nobody_renews_expires_and_its_slot_is_taken(slots: Slots) -> None:
    assert slots.take("r1", cap=1)
    slots.clock.advance(timedelta(seconds=LEASE_S + 1))
    assert slots.held() == []
    assert slots.take("r2", cap=1)
    # The run that lost its lease is refused while the other holds the only slot.
    assert not slots.take("r1", cap=1)
    assert slots.held() == ["r2"]
    slots.release("r1")  # must not free the slot r2 now holds
    assert slots.held() == ["r2"]


def test_organizations_have_their_own_slots(slots: Slots) -> None:
    assert slots.take("a1", cap=1, org_id="o_a")
    assert not slots.take("a2", cap=1, org_id="o_a")
    assert slots.take("b1", cap=1, org_id="o_b")
    slots.release("a1", org_id="o_b")
    assert slots.held("o_a") == ["a1"] and slots.held("o_b") == ["b1"]


def test_a_lower_cap_keeps_running_runs_but_admits_no_new_one(slots: Slots) -> None:
    for run_id in ("r1", "r2", "r3"):
        assert slots.take(run_id, cap=3)
    assert slots.take("r3", cap=1)  # the holder of slot 2 keeps it
    slots.release("r1")
    assert not slots.take("r4", cap=1)  # two runs still hold slots
    slots.release("r2")
    slots.release("r3")
    assert slots.take("r4", cap=1)


def test_concurrent_runs_never_share_a_slot(slots: Slots) -> None:
    barrier = threading.Barrier(12)
    admitted: list[str] = []
    errors: list[BaseException] = []

    def ask(run_id: str) -> None:
        try:
            barrier.wait()
            if slots.take(run_id, cap=3):
                admitted.append(run_id)
        except BaseException as exc:  # surfaced below
            errors.append(exc)

    threads = [threading.Thread(target=ask, args=(f"r{n}",)) for n in range(12)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    assert len(admitted) == 3
    assert sorted(slots.held()) == sorted(admitted)


def test_a_freed_slot_goes_to_the_run_submitted_first_whoever_asks_first(slots: Slots) -> None:
    assert slots.take("r1", cap=1)
    assert slots.ask("r3", cap=1) == SlotAnswer(admitted=False, ahead=0)
    assert slots.ask("r2", cap=1) == SlotAnswer(admitted=False, ahead=0)  # submitted before r3
    assert slots.ask("r3", cap=1) == SlotAnswer(admitted=False, ahead=1)
    assert slots.store.waiting("o_1") == ["r2", "r3"]
    slots.release("r1")
    assert not slots.take("r3", cap=1)  # r2 is ahead in line, although r3 asked first
    assert slots.take("r2", cap=1)
    assert slots.store.waiting("o_1") == ["r3"] and slots.held() == ["r2"]
    slots.release("r2")
    assert slots.take("r3", cap=1)
    assert slots.store.waiting("o_1") == []


def test_a_place_in_line_lapses_unless_renewed_and_release_leaves_the_line(slots: Slots) -> None:
    assert slots.take("r1", cap=1)
    assert not slots.take("r2", cap=1) and not slots.take("r3", cap=1) and not slots.take("r4", cap=1)
    slots.release("r3")  # canceled while it waited
    assert slots.store.waiting("o_1") == ["r2", "r4"]
    slots.clock.advance(timedelta(seconds=WAIT_S / 2))
    assert not slots.take("r4", cap=1)  # r4 asks again; r2 does not (its execution died)
    slots.clock.advance(timedelta(seconds=WAIT_S / 2 + 1))
    assert slots.store.waiting("o_1") == ["r4"]
    slots.release("r1")
    assert slots.take("r4", cap=1)  # r2's lapsed place no longer holds it up


def test_the_line_is_counted_against_the_free_slots(slots: Slots) -> None:
    assert slots.take("r1", cap=3)
    assert slots.take("r2", cap=3)
    assert slots.take("r3", cap=3)
    for run_id in ("r4", "r5", "r6"):
        assert not slots.take(run_id, cap=3)
    slots.release("r1")
    slots.release("r2")
    # Two slots free and r4, r5 first in line: r6 still waits behind them, then they start.
    assert slots.ask("r6", cap=3) == SlotAnswer(admitted=False, ahead=2)
    assert slots.take("r5", cap=3) and slots.take("r4", cap=3)
    assert not slots.take("r6", cap=3)
    assert sorted(slots.held()) == ["r3", "r4", "r5"]
