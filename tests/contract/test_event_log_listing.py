"""The event log's listing (`list_runs`), on SQLite and DynamoDB: newest first, pages and
cursors, filters, search by title or prompt prefix or exact id, one organization at a time."""

from __future__ import annotations

import pytest

from altostratus.domain import events as ev
from altostratus.domain.enums import Engine, RunStatus, RunType
from altostratus.domain.run_summary import RunSummary
from altostratus.ports.event_log import EventLog, InvalidCursorError, RunPage, RunQuery
from tests.support.runs import created, d, step


def _make(log: EventLog, count: int, org_id: str = "o_1", prefix: str = "tsk_v2_") -> list[str]:
    """`count` queued runs, oldest first; every third is canceled."""
    ids = []
    for n in range(count):
        run_id = f"{prefix}{n:03d}"
        log.append(
            run_id, [created(org_id, title=f"Order {n}", prompt=f"Check order {n}"), d(ev.RunQueued())]
        )
        if n % 3 == 0:
            log.append(run_id, [d(ev.RunCanceled(reason="not needed"))])
        ids.append(run_id)
    return ids


def _ids(page: RunPage) -> list[str]:
    return [r.run_id for r in page.runs]


def _walk(log: EventLog, org_id: str, query: RunQuery) -> list[str]:
    """Every matching run, following next_cursor from the first page; each page full but the last."""
    page = log.list_runs(org_id, query)
    seen = _ids(page)
    while page.next_cursor is not None:
        assert len(page.runs) == query.page_size
        page = log.list_runs(org_id, RunQuery(**{**query.__dict__, "cursor": page.next_cursor}))
        seen += _ids(page)
        assert len(seen) < 1000, "the cursor never ended"
    return seen


def test_a_listed_run_shows_what_its_view_says(event_log: EventLog) -> None:
    event_log.append(
        "tsk_v2_1",
        [created(title="Weekly prices", prompt="Find the price of the lamp"), d(ev.RunStarted())],
    )
    event_log.append("tsk_v2_1", step("stp_1", 1) + step("stp_2", 2))
    event_log.append("tsk_v2_1", [d(ev.RunFailed(reason="the site is down"))])
    event_log.append("wr_1", [created(run_type=RunType.WORKFLOW_RUN)])
    listed = {r.run_id: r for r in event_log.list_runs("o_1", RunQuery()).runs}
    view = event_log.get_view("tsk_v2_1")
    assert view is not None
    assert listed["tsk_v2_1"] == RunSummary.of(view)
    run = listed["tsk_v2_1"]
    assert (run.status, run.step_count, run.failure_reason) == (RunStatus.FAILED, 2, "the site is down")
    assert (run.title, run.prompt, run.engine) == (
        "Weekly prices",
        "Find the price of the lamp",
        Engine.SKYVERN_V2,
    )
    assert run.started_at is not None and run.finished_at is not None
    assert listed["wr_1"].workflow_id == "wpid_1" and listed["wr_1"].run_type is RunType.WORKFLOW_RUN


def test_the_listing_follows_each_append(event_log: EventLog) -> None:
    event_log.append("tsk_v2_1", [created(), d(ev.RunQueued())])
    assert event_log.list_runs("o_1", RunQuery()).runs[0].status is RunStatus.QUEUED
    event_log.append("tsk_v2_1", [d(ev.RunStarted()), *step("stp_1", 1)])
    run = event_log.list_runs("o_1", RunQuery()).runs[0]
    assert (run.status, run.step_count) == (RunStatus.RUNNING, 1)
    assert _ids(event_log.list_runs("o_1", RunQuery(statuses=frozenset({RunStatus.QUEUED})))) == []


def test_pages_are_newest_first_and_say_whether_another_follows(event_log: EventLog) -> None:
    ids = _make(event_log, 25)
    newest_first = ids[::-1]
    pages = [event_log.list_runs("o_1", RunQuery(page=n, page_size=10)) for n in (1, 2, 3, 4)]
    assert [_ids(p) for p in pages] == [newest_first[:10], newest_first[10:20], newest_first[20:], []]
    assert [p.next_cursor is not None for p in pages] == [True, True, False, False]
    # A page that ends exactly on the last run says nothing follows.
    exact = event_log.list_runs("o_1", RunQuery(page=5, page_size=5))
    assert _ids(exact) == newest_first[20:] and exact.next_cursor is None


def test_a_cursor_resumes_after_its_page_even_when_runs_are_added_meanwhile(event_log: EventLog) -> None:
    ids = _make(event_log, 12)
    first = event_log.list_runs("o_1", RunQuery(page_size=5))
    assert first.next_cursor is not None
    _make(event_log, 3, prefix="tsk_v2_new")  # newer than everything: page 2 by number shifts
    second = event_log.list_runs("o_1", RunQuery(page_size=5, cursor=first.next_cursor))
    assert _ids(first) + _ids(second) == ids[::-1][:10]
    assert _ids(event_log.list_runs("o_1", RunQuery(page=2, page_size=5)))[0] != ids[::-1][5]
    assert _walk(event_log, "o_1", RunQuery(page_size=4)) == [
        *[f"tsk_v2_new{n:03d}" for n in (2, 1, 0)],
        *ids[::-1],
    ]


def test_filters_combine_with_pages_and_cursors(event_log: EventLog) -> None:
    ids = _make(event_log, 20)
    event_log.append("tsk_v1_1", [created(engine=Engine.SKYVERN_V1, title="Order one")])
    canceled = [i for n, i in enumerate(ids) if n % 3 == 0][::-1]
    only_canceled = RunQuery(page_size=3, statuses=frozenset({RunStatus.CANCELED}))
    assert _walk(event_log, "o_1", only_canceled) == canceled
    page2 = event_log.list_runs("o_1", RunQuery(page=2, page_size=3, statuses=only_canceled.statuses))
    assert _ids(page2) == canceled[3:6]
    both = frozenset({RunStatus.CANCELED, RunStatus.CREATED})
    assert _ids(event_log.list_runs("o_1", RunQuery(page_size=3, statuses=both))) == [
        "tsk_v1_1",
        *canceled[:2],
    ]
    v1 = RunQuery(run_types=frozenset({RunType.TASK_V1}))
    assert _ids(event_log.list_runs("o_1", v1)) == ["tsk_v1_1"]
    v2_queued = RunQuery(run_types=frozenset({RunType.TASK_V2}), statuses=frozenset({RunStatus.QUEUED}))
    assert _ids(event_log.list_runs("o_1", v2_queued)) == [i for n, i in enumerate(ids) if n % 3][::-1][:10]


def test_search_is_a_case_insensitive_prefix_of_the_title_or_prompt_or_an_exact_id(
    event_log: EventLog,
) -> None:
    event_log.append("tsk_v2_a", [created(title="Weekly Prices", prompt="Find the price of the lamp")])
    event_log.append("tsk_v2_b", [created(title=None, prompt="Book a table for two\non Friday")])
    event_log.append("tsk_v2_c", [created(title="Refund for order 7", prompt="Ask for a refund")])

    def search(text: str, **query: object) -> list[str]:
        return _ids(event_log.list_runs("o_1", RunQuery(search=text, **query)))  # type: ignore[arg-type]

    assert search("weekly") == ["tsk_v2_a"]  # title prefix, any case
    assert search("FIND THE") == ["tsk_v2_a"]  # prompt prefix
    assert search("book a table for two on") == ["tsk_v2_b"]  # spacing and line breaks collapse
    assert search("price") == []  # inside the text, not a prefix
    assert search("tsk_v2_c") == ["tsk_v2_c"]  # the exact id
    assert search("tsk_v2") == []  # ids match whole only
    assert search("refund") == ["tsk_v2_c"]  # title and prompt both match: listed once
    assert search("Ask for a refund and more") == []
    assert search("f") == ["tsk_v2_a"]  # "Find ..." (prompt); "Refund ..." does not start with f
    assert search("", page_size=2) == ["tsk_v2_c", "tsk_v2_b"]
    canceled = frozenset({RunStatus.CANCELED})
    event_log.append("tsk_v2_c", [d(ev.RunCanceled())])
    assert search("refund", statuses=canceled) == ["tsk_v2_c"]
    assert search("weekly", statuses=canceled) == []


def test_search_pages_through_many_matches(event_log: EventLog) -> None:
    ids = _make(event_log, 15)
    event_log.append("tsk_v2_other", [created(title="Unrelated", prompt="Something else")])
    matches = _walk(event_log, "o_1", RunQuery(page_size=4, search="check ORDER"))
    assert matches == ids[::-1]
    assert _ids(event_log.list_runs("o_1", RunQuery(page=3, page_size=4, search="order"))) == ids[::-1][8:12]
    assert _ids(event_log.list_runs("o_1", RunQuery(search="order 1"))) == [
        "tsk_v2_014",
        "tsk_v2_013",
        "tsk_v2_012",
        "tsk_v2_011",
        "tsk_v2_010",
        "tsk_v2_001",
    ]


def test_another_organizations_runs_are_never_listed(event_log: EventLog) -> None:
    mine = _make(event_log, 4)
    theirs = _make(event_log, 4, org_id="o_2", prefix="tsk_v2_theirs")
    assert _ids(event_log.list_runs("o_1", RunQuery(page_size=100))) == mine[::-1]
    assert _ids(event_log.list_runs("o_2", RunQuery(page_size=100))) == theirs[::-1]
    assert _ids(event_log.list_runs("o_1", RunQuery(search=theirs[0]))) == []
    assert _ids(event_log.list_runs("o_1", RunQuery(search="order"))) == mine[::-1]
    # A cursor from another organization's listing gives nothing of theirs either.
    cursor = event_log.list_runs("o_2", RunQuery(page_size=1)).next_cursor
    assert cursor is not None
    assert set(_ids(event_log.list_runs("o_1", RunQuery(cursor=cursor)))) <= set(mine)
    assert _ids(event_log.list_runs("o_3", RunQuery())) == []


@pytest.mark.parametrize("cursor", ["nope", "e30", "WyJ4IiwgInkiXQ", "WzEsMl0", "%%%"])
def test_a_cursor_no_listing_returned_is_refused(event_log: EventLog, cursor: str) -> None:
    with pytest.raises(InvalidCursorError):
        event_log.list_runs("o_1", RunQuery(cursor=cursor))
