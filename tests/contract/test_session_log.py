"""The session-log contract (see altostratus.ports.session_log): the fold, the open-session
index, and the lease (one run at a time, expiring with its holder's deadline)."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path

import pytest

from altostratus.adapters.dynamodb_session_log import DynamoDBSessionLog
from altostratus.adapters.sqlite_db import SQLiteDatabase
from altostratus.adapters.sqlite_session_log import SQLiteSessionLog
from altostratus.domain import sessions as s
from altostratus.ports.errors import SequenceConflictError
from altostratus.ports.session_log import SessionLog
from tests.support.aws import moto_aws
from tests.support.clock import FakeClock


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture(params=["sqlite", "dynamodb"])
def log(request: pytest.FixtureRequest, tmp_path: Path, clock: FakeClock) -> Iterator[SessionLog]:
    if request.param == "sqlite":
        db = SQLiteDatabase(tmp_path / "alto.db")
        yield SQLiteSessionLog(db, clock)
        db.close()
    else:
        with moto_aws() as aws:
            yield DynamoDBSessionLog(aws.dynamodb, state_table=aws.state_table, clock=clock)


def _open(log: SessionLog, session_id: str, org: str = "o_1", timeout: int = 30) -> s.SessionView:
    log.append(session_id, [s.SessionCreated(org_id=org, spec=s.SessionSpec(timeout=timeout), backend="t")])
    return log.append(session_id, [s.SessionStarted(connectable=True)])


def test_the_view_is_the_fold_of_the_events_and_status_is_computed_on_read(
    log: SessionLog, clock: FakeClock
) -> None:
    view = _open(log, "pbs_1")
    assert view == s.fold(log.read("pbs_1")) == log.get("pbs_1")
    assert view.version == 2 and view.status_at(clock.now()) is s.SessionStatus.running
    # Past its deadline it reads as timed out before anything closes it.
    clock.advance(timedelta(minutes=31))
    assert log.get("pbs_1") is not None
    assert log.get("pbs_1").status_at(clock.now()) is s.SessionStatus.timeout  # type: ignore[union-attr]
    assert log.get("pbs_unknown") is None and log.read("pbs_unknown") == []


def test_listing_shows_an_organizations_open_sessions_newest_first(log: SessionLog) -> None:
    for n in (1, 2, 3):
        _open(log, f"pbs_{n}")
    _open(log, "pbs_9", org="o_2")
    log.append("pbs_2", [s.SessionCloseRequested(), s.SessionClosed(status=s.SessionStatus.completed)])
    assert [v.session_id for v in log.list_open("o_1")] == ["pbs_3", "pbs_1"]
    assert [v.session_id for v in log.list_open("o_2")] == ["pbs_9"]
    assert {v.session_id for v in log.open_sessions()} == {"pbs_1", "pbs_3", "pbs_9"}


def test_one_run_holds_the_lease_until_it_releases_it(log: SessionLog, clock: FakeClock) -> None:
    _open(log, "pbs_1")
    until = clock.now() + timedelta(minutes=10)
    assert log.acquire("pbs_1", "tsk_1", until).lease_run_id == "tsk_1"
    assert log.acquire("pbs_1", "tsk_1", until).lease_run_id == "tsk_1"  # the holder again: fine
    with pytest.raises(s.SessionBusyError) as busy:
        log.acquire("pbs_1", "tsk_2", until)
    assert "already occupied by tsk_1" in busy.value.message
    assert log.release("pbs_1", "tsk_2") is not None  # not the holder: nothing changes
    assert log.get("pbs_1").lease_run_id == "tsk_1"  # type: ignore[union-attr]
    log.release("pbs_1", "tsk_1")
    assert log.acquire("pbs_1", "tsk_2", until).lease_run_id == "tsk_2"
    assert log.get("pbs_1").run_ids == ("tsk_1", "tsk_2")  # type: ignore[union-attr]


def test_a_lease_expires_with_its_holders_deadline_so_a_dead_run_strands_nothing(
    log: SessionLog, clock: FakeClock
) -> None:
    _open(log, "pbs_1")
    log.acquire("pbs_1", "tsk_dead", clock.now() + timedelta(minutes=5))
    clock.advance(timedelta(minutes=5, seconds=1))
    assert log.get("pbs_1").holder_at(clock.now()) is None  # type: ignore[union-attr]
    assert log.acquire("pbs_1", "tsk_2", clock.now() + timedelta(minutes=5)).lease_run_id == "tsk_2"


def test_a_lease_never_outlives_the_session_and_a_closed_session_cannot_be_leased(
    log: SessionLog, clock: FakeClock
) -> None:
    view = _open(log, "pbs_1", timeout=5)
    leased = log.acquire("pbs_1", "tsk_1", clock.now() + timedelta(hours=1))
    assert leased.lease_until == view.deadline
    log.append("pbs_1", [s.SessionClosed(status=s.SessionStatus.timeout, reason="r")])
    with pytest.raises(s.SessionClosedError):
        log.acquire("pbs_1", "tsk_2", clock.now())
    with pytest.raises(KeyError):
        log.acquire("pbs_unknown", "tsk_2", clock.now())


def test_a_stale_version_is_refused_and_racing_runs_get_one_lease(log: SessionLog, clock: FakeClock) -> None:
    view = _open(log, "pbs_1")
    with pytest.raises(SequenceConflictError):
        log.append("pbs_1", [s.SessionCloseRequested()], expected_version=view.version - 1)
    winners: list[str] = []
    barrier = threading.Barrier(6)

    def take(run_id: str) -> None:
        barrier.wait()
        try:
            log.acquire("pbs_1", run_id, clock.now() + timedelta(minutes=5))
            winners.append(run_id)
        except s.SessionBusyError:
            pass

    threads = [threading.Thread(target=take, args=(f"tsk_{n}",)) for n in range(6)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len(winners) == 1
    assert log.get("pbs_1").lease_run_id == winners[0]  # type: ignore[union-attr]
