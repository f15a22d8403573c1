"""Every port's contract runs against every adapter of that port."""

from __future__ import annotations

import itertools
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from altostratus.adapters.dynamodb_event_log import DynamoDBEventLog, create_tables
from altostratus.adapters.sqlite_db import SQLiteDatabase
from altostratus.adapters.sqlite_event_log import SQLiteEventLog
from altostratus.devtools.fake_agentcore import FakeAgentCore
from altostratus.ports.event_log import EventLog
from tests.support.aws import moto_aws
from tests.support.clock import FakeClock


@pytest.fixture(params=["sqlite", "dynamodb"])
def event_log(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[EventLog]:
    clock = FakeClock()
    if request.param == "sqlite":
        db = SQLiteDatabase(tmp_path / "alto.db")
        yield SQLiteEventLog(db, clock)
        db.close()
    else:
        with moto_aws() as aws:
            yield DynamoDBEventLog(
                aws.dynamodb, events_table=aws.events_table, state_table=aws.state_table, clock=clock
            )


@pytest.fixture(params=["sqlite", "dynamodb"])
def event_log_factory(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Callable[[], EventLog]]:
    """Makes a new, empty event log per call (property tests want one per example; moto's
    transactions copy the whole table, so sharing one would slow every example down)."""
    numbers = itertools.count()
    if request.param == "sqlite":
        dbs: list[SQLiteDatabase] = []

        def make_sqlite() -> EventLog:
            dbs.append(SQLiteDatabase(tmp_path / f"alto{next(numbers)}.db"))
            return SQLiteEventLog(dbs[-1], FakeClock())

        yield make_sqlite
        for db in dbs:
            db.close()
    else:
        with moto_aws() as aws:

            def make_dynamodb() -> EventLog:
                n = next(numbers)
                create_tables(aws.dynamodb, events_table=f"ev{n}", state_table=f"st{n}")
                return DynamoDBEventLog(
                    aws.dynamodb, events_table=f"ev{n}", state_table=f"st{n}", clock=FakeClock()
                )

            yield make_dynamodb


@pytest.fixture
def fake_agentcore() -> Iterator[FakeAgentCore]:
    """The local AgentCore Browser data plane (its sessions are Chromium processes it starts),
    new for each test: the suites reuse session ids, which AgentCore would take for retries."""
    with FakeAgentCore() as running:
        yield running
