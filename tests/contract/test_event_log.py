"""The event-log contract (see altostratus.ports.event_log), run against SQLite and DynamoDB."""

from __future__ import annotations

import threading

import pytest

from altostratus.domain import events as ev
from altostratus.domain.enums import ArtifactType, RunStatus, RunType
from altostratus.domain.errors import InvalidTransitionError, RunAlreadyExistsError, RunAlreadyFinishedError
from altostratus.domain.view import fold
from altostratus.ports.errors import ClaimTakenError, IntegrityError, SequenceConflictError
from altostratus.ports.event_log import Claim, ClaimRecord, EventLog, RunQuery
from tests.support.runs import created, d, step


def start(log: EventLog, run_id: str = "tsk_v2_1", org_id: str = "o_1") -> None:
    log.append(run_id, [created(org_id), d(ev.RunQueued()), d(ev.RunStarted())])


def test_events_get_consecutive_seqs_and_are_read_in_order(event_log: EventLog) -> None:
    start(event_log)
    event_log.append("tsk_v2_1", step("stp_1", 1))
    events = event_log.read("tsk_v2_1")
    assert [e.seq for e in events] == list(range(1, 9))
    assert [e.type for e in events][:4] == ["RunCreated", "RunQueued", "RunStarted", "StepStarted"]
    assert all(e.org_id == "o_1" for e in events)


def test_read_after_and_limit_page_through_the_log(event_log: EventLog) -> None:
    start(event_log)
    event_log.append("tsk_v2_1", step("stp_1", 1))
    assert [e.seq for e in event_log.read("tsk_v2_1", after_seq=3, limit=2)] == [4, 5]
    assert event_log.read("tsk_v2_1", after_seq=8) == []


def test_unknown_run_has_no_view_and_no_events(event_log: EventLog) -> None:
    assert event_log.get_view("tsk_404") is None
    assert event_log.read("tsk_404") == []
    assert event_log.list_artifacts("tsk_404") == []


def test_stored_view_is_the_fold_of_the_log(event_log: EventLog) -> None:
    start(event_log)
    event_log.append("tsk_v2_1", step("stp_1", 1))
    event_log.append("tsk_v2_1", [d(ev.OutputProduced(output={"price": 3}))])
    event_log.append("tsk_v2_1", [d(ev.RunCompleted())])
    view = event_log.get_view("tsk_v2_1")
    assert view is not None
    assert view == fold(event_log.read("tsk_v2_1"))
    assert view.status is RunStatus.COMPLETED
    assert view.output == {"price": 3}
    assert view.step_count == 1
    assert view.version == 10


def test_a_stale_expected_version_conflicts_and_writes_nothing(event_log: EventLog) -> None:
    start(event_log)
    with pytest.raises(SequenceConflictError):
        event_log.append("tsk_v2_1", [d(ev.RunCancelRequested())], expected_version=2)
    assert len(event_log.read("tsk_v2_1")) == 3
    result = event_log.append("tsk_v2_1", [d(ev.RunCancelRequested())], expected_version=3)
    assert result.view.version == 4


def test_a_batch_is_all_or_nothing(event_log: EventLog) -> None:
    start(event_log)
    with pytest.raises(InvalidTransitionError):
        event_log.append("tsk_v2_1", [d(ev.RunCompleted()), d(ev.StepStarted(step_id="stp_9", order=1))])
    view = event_log.get_view("tsk_v2_1")
    assert view is not None and view.status is RunStatus.RUNNING
    assert len(event_log.read("tsk_v2_1")) == 3


def test_a_retried_event_id_is_a_no_op(event_log: EventLog) -> None:
    start(event_log)
    first = event_log.append("tsk_v2_1", [d(ev.StepStarted(step_id="stp_1", order=1), "stp_1:started")])
    again = event_log.append("tsk_v2_1", [d(ev.StepStarted(step_id="stp_1", order=1), "stp_1:started")])
    assert not first.duplicate and again.duplicate
    assert again.events == ()
    assert again.view == first.view
    assert [e.type for e in event_log.read("tsk_v2_1")].count("StepStarted") == 1


def test_a_run_is_created_once(event_log: EventLog) -> None:
    start(event_log)
    with pytest.raises(RunAlreadyExistsError):
        event_log.append("tsk_v2_1", [created("o_2")])
    view = event_log.get_view("tsk_v2_1")
    assert view is not None and view.org_id == "o_1"


def test_after_the_terminal_event_only_artifacts_and_webhook_records_follow(event_log: EventLog) -> None:
    start(event_log)
    event_log.append("tsk_v2_1", [d(ev.RunFailed(reason="the site is down"))])
    with pytest.raises(RunAlreadyFinishedError):
        event_log.append("tsk_v2_1", [d(ev.RunCompleted())])
    event_log.append(
        "tsk_v2_1",
        [
            d(
                ev.ArtifactStored(
                    artifact_id="a_77", artifact_type=ArtifactType.RECORDING, uri="file:///r.webm"
                )
            ),
            d(
                ev.WebhookAttempted(
                    delivery_id="whd_1", attempt=1, url="https://hooks.example.com", status_code=200
                )
            ),
            d(ev.WebhookDelivered(delivery_id="whd_1", attempt=1, status_code=200)),
        ],
    )
    view = event_log.get_view("tsk_v2_1")
    assert view is not None
    assert view.status is RunStatus.FAILED and view.failure_reason == "the site is down"
    assert view.recording is not None and view.recording.artifact_id == "a_77"


def test_fifty_concurrent_writers_lose_nothing_and_never_share_a_seq(event_log: EventLog) -> None:
    start(event_log)
    barrier = threading.Barrier(50)
    errors: list[BaseException] = []

    def writer(n: int) -> None:
        try:
            barrier.wait()
            event_log.append("tsk_v2_1", [d(ev.RunCancelRequested(reason=f"writer {n}"))])
        except BaseException as exc:  # surfaced by the assertion below
            errors.append(exc)

    threads = [threading.Thread(target=writer, args=(n,)) for n in range(50)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    events = event_log.read("tsk_v2_1")
    assert [e.seq for e in events] == list(range(1, 54))
    reasons = {e.data.reason for e in events if isinstance(e.data, ev.RunCancelRequested)}
    assert reasons == {f"writer {n}" for n in range(50)}
    assert event_log.get_view("tsk_v2_1") == fold(events)


def _race_to_the_end(log: EventLog, run_id: str) -> list[str]:
    barrier = threading.Barrier(2)
    outcomes: list[str] = []

    def finish(data: ev.EventData) -> None:
        barrier.wait()
        try:
            log.append(run_id, [d(data)])
            outcomes.append(data.type)
        except RunAlreadyFinishedError:
            outcomes.append("refused")

    racers = [
        threading.Thread(target=finish, args=(ev.RunCompleted(output="done"),)),
        threading.Thread(target=finish, args=(ev.RunCanceled(reason="canceled by the user"),)),
    ]
    for t in racers:
        t.start()
    for t in racers:
        t.join()
    return outcomes


def test_a_cancel_racing_a_completion_ends_with_exactly_one_terminal_status(event_log: EventLog) -> None:
    for attempt in range(5):
        run_id = f"tsk_v2_race{attempt}"
        start(event_log, run_id)
        outcomes = _race_to_the_end(event_log, run_id)
        assert sorted(outcomes).count("refused") == 1
        terminal = [e for e in event_log.read(run_id) if e.type in ev.TERMINAL_EVENT_TYPES]
        assert len(terminal) == 1
        view = event_log.get_view(run_id)
        assert view is not None and view.status.is_terminal
        assert view.status.value == {"RunCompleted": "completed", "RunCanceled": "canceled"}[terminal[0].type]


def _ids(log: EventLog, org_id: str, query: RunQuery) -> list[str]:
    return [r.run_id for r in log.list_runs(org_id, query).runs]


def test_runs_are_listed_per_organization_newest_first_with_filters_and_pages(event_log: EventLog) -> None:
    for n in range(5):
        event_log.append(f"tsk_v2_{n}", [created("o_1", title=f"run {n}"), d(ev.RunQueued())])
    event_log.append("tsk_other", [created("o_2")])
    event_log.append("tsk_v2_3", [d(ev.RunCanceled())])
    page1 = _ids(event_log, "o_1", RunQuery(page=1, page_size=2))
    page2 = _ids(event_log, "o_1", RunQuery(page=2, page_size=2))
    assert page1 + page2 == ["tsk_v2_4", "tsk_v2_3", "tsk_v2_2", "tsk_v2_1"]
    assert _ids(event_log, "o_1", RunQuery(statuses=frozenset({RunStatus.CANCELED}))) == ["tsk_v2_3"]
    assert _ids(event_log, "o_1", RunQuery(run_types=frozenset({RunType.TASK_V1}))) == []
    assert _ids(event_log, "o_1", RunQuery(search="RUN 2")) == ["tsk_v2_2"]
    assert _ids(event_log, "o_2", RunQuery()) == ["tsk_other"]


def test_artifacts_are_indexed_by_id_and_by_run(event_log: EventLog) -> None:
    start(event_log)
    event_log.append("tsk_v2_1", step("stp_1", 1) + step("stp_2", 2))
    listed = event_log.list_artifacts("tsk_v2_1")
    assert len(listed) == 2
    assert [a.step_id for a in listed] == ["stp_1", "stp_2"]
    found = event_log.get_artifact(listed[1].artifact_id)
    assert found == listed[1]
    assert found.run_id == "tsk_v2_1" and found.org_id == "o_1"
    assert event_log.get_artifact("a_0") is None


def test_a_failed_replay_does_not_undo_a_delivered_webhook(event_log: EventLog) -> None:
    event_log.append("tsk_v2_1", [created(webhook_url="https://hooks.example.com/x"), d(ev.RunCanceled())])
    event_log.append(
        "tsk_v2_1",
        [
            d(ev.WebhookAttempted(delivery_id="msg_1", attempt=1, url="u", status_code=200)),
            d(ev.WebhookDelivered(delivery_id="msg_1", attempt=1, status_code=200)),
        ],
    )
    event_log.append(
        "tsk_v2_1",
        [
            d(ev.WebhookAttempted(delivery_id="rpl_1", attempt=1, url="u", status_code=500)),
            d(ev.WebhookFailed(delivery_id="rpl_1", attempts=1, reason="replay: HTTP 500")),
        ],
    )
    view = event_log.get_view("tsk_v2_1")
    assert view is not None and view.webhook is not None
    assert view.webhook.status.value == "delivered" and view.webhook.failure_reason is None


def _screenshot(artifact_id: str) -> ev.Draft:
    return d(
        ev.ArtifactStored(
            artifact_id=artifact_id,
            artifact_type=ArtifactType.SCREENSHOT_ACTION,
            uri=f"file:///tmp/{artifact_id}.png",
            content_type="image/png",
        )
    )


def test_a_write_the_store_itself_refuses_mid_batch_leaves_nothing_of_the_batch(event_log: EventLog) -> None:
    # GIVEN a run with an artifact a_1
    start(event_log)
    event_log.append("tsk_v2_1", [_screenshot("a_1")])
    before = event_log.get_view("tsk_v2_1")
    # WHEN a batch writes events first and then a duplicate artifact id, which only the store
    # can refuse (the domain's rules accept it)
    with pytest.raises(IntegrityError):
        event_log.append(
            "tsk_v2_1", [d(ev.StepStarted(step_id="stp_1", order=1), "stp_1:started"), _screenshot("a_1")]
        )
    # THEN the batch's first event is not visible, the view and the index are unchanged
    assert [e.type for e in event_log.read("tsk_v2_1")] == [
        "RunCreated",
        "RunQueued",
        "RunStarted",
        "ArtifactStored",
    ]
    assert event_log.get_view("tsk_v2_1") == before
    assert [a.artifact_id for a in event_log.list_artifacts("tsk_v2_1")] == ["a_1"]
    # AND the event id of the refused batch was not recorded: the same step can still be written
    event_log.append("tsk_v2_1", [d(ev.StepStarted(step_id="stp_1", order=1), "stp_1:started")])
    view = event_log.get_view("tsk_v2_1")
    assert view is not None and view.step_count == 1


def test_a_claim_binds_its_key_to_the_first_run_atomically(event_log: EventLog) -> None:
    # GIVEN a run created with a claim
    claim = Claim(key="run_task#o_1#key-1", fingerprint="f1")
    event_log.append("tsk_v2_1", [created("o_1"), d(ev.RunQueued())], claim=claim)
    # WHEN another run is created with the same key
    with pytest.raises(ClaimTakenError):
        event_log.append("tsk_v2_2", [created("o_1"), d(ev.RunQueued())], claim=claim)
    # THEN nothing of the second run exists, and the key names the first
    assert event_log.get_view("tsk_v2_2") is None
    assert event_log.read("tsk_v2_2") == []
    assert event_log.claim_owner(claim.key) == ClaimRecord(key=claim.key, run_id="tsk_v2_1", fingerprint="f1")
    assert event_log.claim_owner("run_task#o_1#key-2") is None


def test_concurrent_creations_with_one_claim_make_exactly_one_run(event_log: EventLog) -> None:
    barrier = threading.Barrier(8)
    won: list[str] = []
    lost: list[str] = []

    def create(n: int) -> None:
        barrier.wait()
        try:
            event_log.append(f"tsk_v2_c{n}", [created("o_1")], claim=Claim(key="k"))
            won.append(f"tsk_v2_c{n}")
        except ClaimTakenError:
            lost.append(f"tsk_v2_c{n}")

    threads = [threading.Thread(target=create, args=(n,)) for n in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len(won) == 1 and len(lost) == 7
    owner = event_log.claim_owner("k")
    assert owner is not None and owner.run_id == won[0]
    assert [r for r in lost if event_log.get_view(r) is not None] == []


def test_a_batch_that_repeats_some_recorded_events_writes_only_the_new_ones(event_log: EventLog) -> None:
    start(event_log)
    event_log.append("tsk_v2_1", [d(ev.StepStarted(step_id="stp_1", order=1), "stp_1:started")])
    # A retried writer sends what it recorded already together with what it did not.
    result = event_log.append(
        "tsk_v2_1",
        [
            d(ev.StepStarted(step_id="stp_1", order=1), "stp_1:started"),
            _screenshot("a_9"),
            d(ev.StepFinished(step_id="stp_1", status="completed"), "stp_1:finished"),
        ],
    )
    assert not result.duplicate
    assert [e.type for e in result.events] == ["ArtifactStored", "StepFinished"]
    assert [e.type for e in event_log.read("tsk_v2_1")].count("StepStarted") == 1
    assert event_log.get_view("tsk_v2_1") == fold(event_log.read("tsk_v2_1"))
