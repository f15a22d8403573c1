"""How each event-log adapter stores what listing reads: never the views' bodies, and databases
or tables written before listing had its own index are listed all the same."""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator
from pathlib import Path

import pytest

from altostratus.adapters import dynamodb_event_log, sqlite_event_log
from altostratus.adapters.dynamodb_event_log import BY_ORG_INDEX, DynamoDBEventLog, view_key
from altostratus.adapters.sqlite_db import SQLiteDatabase
from altostratus.adapters.sqlite_event_log import SQLiteEventLog
from altostratus.domain import events as ev
from altostratus.domain.enums import RunStatus
from altostratus.domain.run_summary import RunSummary
from altostratus.ports.event_log import EventLog, RunQuery
from tests.support.aws import MotoAws, moto_aws
from tests.support.clock import FakeClock
from tests.support.runs import created, d

# The views table as databases created before listing had its own columns hold it.
_OLD_VIEWS = """
CREATE TABLE views (
    run_id TEXT PRIMARY KEY, org_id TEXT NOT NULL, created_at TEXT NOT NULL, status TEXT NOT NULL,
    run_type TEXT NOT NULL, version INTEGER NOT NULL, body TEXT NOT NULL
);
CREATE INDEX views_by_org ON views (org_id, created_at DESC, run_id DESC)
"""


def _runs(log: EventLog, count: int) -> list[str]:
    ids = []
    for n in range(count):
        run_id = f"tsk_v2_{n:03d}"
        log.append(run_id, [created(title=f"Invoice {n}", prompt=f"Download invoice {n}"), d(ev.RunQueued())])
        if n % 2:
            log.append(run_id, [d(ev.RunCanceled())])
        ids.append(run_id)
    return ids


def _ids(log: EventLog, query: RunQuery) -> list[str]:
    return [r.run_id for r in log.list_runs("o_1", query).runs]


# -- SQLite ------------------------------------------------------------------------------


def test_an_older_sqlite_database_gains_the_listing_columns_filled_from_its_views(tmp_path: Path) -> None:
    # A database of today's schema supplies real views; an old-schema copy holds the same rows.
    source_db = SQLiteDatabase(tmp_path / "new.db")
    ids = _runs(SQLiteEventLog(source_db, FakeClock()), 12)
    rows = (
        source_db.connection()
        .execute("SELECT run_id, org_id, created_at, status, run_type, version, body FROM views")
        .fetchall()
    )
    source_db.close()
    old = sqlite3.connect(tmp_path / "old.db")
    old.executescript(_OLD_VIEWS)
    old.executemany("INSERT INTO views VALUES (?, ?, ?, ?, ?, ?, ?)", rows)
    old.commit()
    old.close()

    db = SQLiteDatabase(tmp_path / "old.db")
    log = SQLiteEventLog(db, FakeClock())
    assert _ids(log, RunQuery(page_size=100)) == ids[::-1]
    assert _ids(log, RunQuery(search="invoice 1")) == ["tsk_v2_011", "tsk_v2_010", "tsk_v2_001"]
    assert _ids(log, RunQuery(search="DOWNLOAD invoice 3")) == ["tsk_v2_003"]
    assert _ids(log, RunQuery(page=2, page_size=2, statuses=frozenset({RunStatus.CANCELED}))) == [
        "tsk_v2_007",
        "tsk_v2_005",
    ]
    view = log.get_view("tsk_v2_004")
    assert view is not None
    assert log.list_runs("o_1", RunQuery(search="tsk_v2_004")).runs == (RunSummary.of(view),)
    # New appends to migrated rows keep the listing current; reopening does not migrate again.
    log.append("tsk_v2_004", [d(ev.RunCanceled())])
    db.close()
    reopened = SQLiteDatabase(tmp_path / "old.db")
    again = SQLiteEventLog(reopened, FakeClock())
    assert _ids(again, RunQuery(search="tsk_v2_004", statuses=frozenset({RunStatus.CANCELED}))) == [
        "tsk_v2_004"
    ]
    indexes = {
        r[0] for r in reopened.connection().execute("SELECT name FROM sqlite_master WHERE type='index'")
    }
    assert "views_by_org" not in indexes and "views_listing" in indexes
    reopened.close()


def test_sqlite_listing_never_reads_a_views_body(tmp_path: Path) -> None:
    db = SQLiteDatabase(tmp_path / "alto.db")
    log = SQLiteEventLog(db, FakeClock())
    ids = _runs(log, 30)
    with db.write() as conn:
        conn.execute("UPDATE views SET body = 'not a view'")
    assert _ids(log, RunQuery(page=3, page_size=5)) == ids[::-1][10:15]
    assert _ids(log, RunQuery(search="invoice 2", page_size=20)) == [ids[29], *ids[20:29][::-1], ids[2]]
    assert _ids(log, RunQuery(statuses=frozenset({RunStatus.QUEUED}), page=2, page_size=3)) == [
        ids[22],
        ids[20],
        ids[18],
    ]
    db.close()


@pytest.mark.parametrize("few", [1, 3, 1000])
def test_sqlite_search_lists_the_same_whether_it_sorts_its_matches_or_walks_the_runs(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, few: int
) -> None:
    # Below `few` matches a search sorts them; at or above, it walks the runs newest first.
    monkeypatch.setattr(sqlite_event_log, "_FEW_MATCHES", few)
    db = SQLiteDatabase(tmp_path / "alto.db")
    log = SQLiteEventLog(db, FakeClock())
    ids = _runs(log, 25)
    newest = ids[::-1]
    assert _ids(log, RunQuery(search="invoice 1", page_size=20)) == [*newest[5:15], ids[1]]
    assert _ids(log, RunQuery(search="download INVOICE", page=2, page_size=7)) == newest[7:14]
    assert _ids(log, RunQuery(search="invoice 2", statuses=frozenset({RunStatus.CANCELED}))) == [
        ids[23],
        ids[21],
    ]
    assert _ids(log, RunQuery(search=ids[4])) == [ids[4]]
    page = log.list_runs("o_1", RunQuery(search="invoice", page_size=10))
    assert page.next_cursor is not None
    rest = log.list_runs("o_1", RunQuery(search="invoice", page_size=100, cursor=page.next_cursor))
    assert [r.run_id for r in rest.runs] == newest[10:] and rest.next_cursor is None
    db.close()


# -- DynamoDB ----------------------------------------------------------------------------


@pytest.fixture
def aws() -> Iterator[MotoAws]:
    with moto_aws() as aws:
        yield aws


def _ddb_log(aws: MotoAws) -> DynamoDBEventLog:
    return DynamoDBEventLog(
        aws.dynamodb, events_table=aws.events_table, state_table=aws.state_table, clock=FakeClock()
    )


def test_the_dynamodb_listing_index_holds_summaries_not_views(aws: MotoAws) -> None:
    log = _ddb_log(aws)
    _runs(log, 3)
    items = aws.dynamodb.query(
        TableName=aws.state_table,
        IndexName=BY_ORG_INDEX,
        KeyConditionExpression="org_id = :o",
        ExpressionAttributeValues={":o": {"S": "o_1"}},
    )["Items"]
    assert len(items) == 3
    for item in items:
        assert "body" not in item and "request" not in item["summary"]["S"]
        assert set(item) == {
            "pk",
            "sk",
            "org_id",
            "created_key",
            "summary",
            "status",
            "run_type",
            "search_title",
            "search_prompt",
        }
    # Even a view whose body could not be read is listed from its summary.
    aws.dynamodb.update_item(
        TableName=aws.state_table,
        Key=view_key("tsk_v2_001"),
        UpdateExpression="SET body = :b",
        ExpressionAttributeValues={":b": {"S": "not a view"}},
    )
    assert _ids(log, RunQuery(search="invoice 1")) == ["tsk_v2_001"]


def test_a_dynamodb_view_written_before_summaries_is_listed_from_its_body(aws: MotoAws) -> None:
    log = _ddb_log(aws)
    _runs(log, 4)
    view = log.get_view("tsk_v2_002")
    assert view is not None
    aws.dynamodb.update_item(
        TableName=aws.state_table,
        Key=view_key("tsk_v2_002"),
        UpdateExpression="REMOVE summary, search_title, search_prompt",
    )
    assert log.list_runs("o_1", RunQuery(page=2, page_size=1)).runs == (RunSummary.of(view),)
    assert _ids(log, RunQuery()) == ["tsk_v2_003", "tsk_v2_002", "tsk_v2_001", "tsk_v2_000"]


def test_a_filtered_dynamodb_listing_reads_the_index_in_several_requests(
    aws: MotoAws, monkeypatch: pytest.MonkeyPatch
) -> None:
    log = _ddb_log(aws)
    ids = _runs(log, 15)
    monkeypatch.setattr(dynamodb_event_log, "_FILTERED_BATCH", 2)
    canceled = RunQuery(statuses=frozenset({RunStatus.CANCELED}), page_size=3)
    page2 = log.list_runs("o_1", RunQuery(**{**canceled.__dict__, "page": 2}))
    assert [r.run_id for r in page2.runs] == [ids[7], ids[5], ids[3]]
    assert page2.next_cursor is not None
    page3 = log.list_runs("o_1", RunQuery(**{**canceled.__dict__, "cursor": page2.next_cursor}))
    assert [r.run_id for r in page3.runs] == [ids[1]] and page3.next_cursor is None
