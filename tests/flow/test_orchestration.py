"""A submitted run starts, steps, stops on cancel or budget, and ends in exactly one terminal
state — on the embedded runner and on Step Functions (moto), with the same events."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from altostratus.domain import events as ev
from altostratus.domain.view import fold
from tests.fakes.anthropic_server import FakeAnthropicServer, HttpError
from tests.flow.drivers import Played, play_aws, play_embedded
from tests.flow.scenarios import SCENARIO_IDS, SCENARIOS, FlowScenario
from tests.support.fixture_site import REPORT_CSV, FixtureSite

pytestmark = pytest.mark.browser


@pytest.fixture(autouse=True)
def _no_video(monkeypatch: pytest.MonkeyPatch) -> None:
    # These scenarios compare the two runtimes event for event. How many times the video is
    # stored depends on wall-clock time (a flush every few seconds, a new file after a crash),
    # so it is left out here; tests/flow/test_recording.py covers it on both runtimes.
    monkeypatch.setenv("ALTO_RECORDING", "false")


@pytest.fixture
def model() -> Iterator[FakeAnthropicServer]:
    with FakeAnthropicServer(lambda request: HttpError(500, "api_error", "no policy yet")) as server:
        yield server


def _check_cap(played: Played, scenario: FlowScenario) -> None:
    """No more runs executed at once than the cap; each waiting run started only once a slot
    was free, i.e. after an earlier run ended."""
    cap = scenario.max_running_per_org
    if cap is None:
        return
    for snapshot in played.snapshots:
        assert list(snapshot.values()).count("running") <= cap, snapshot
    views = sorted((p.view for p in [played, *played.others]), key=lambda v: v.started_at or v.created_at)
    for n, view in enumerate(views[cap:], start=cap):
        assert view.started_at is not None
        ended = sorted(v.finished_at for v in views[:n] if v.finished_at is not None)
        assert len(ended) >= n - cap + 1 and view.started_at >= ended[n - cap], (
            view.run_id,
            view.started_at,
            ended,
        )
    # While the first ran, the API showed the others queued.
    assert any(list(s.values()).count("queued") == len(views) - cap for s in played.snapshots)


def _check(played: Played, scenario: FlowScenario) -> None:
    for other in played.others:
        _check(other, scenario)
    view = played.view
    assert view.status.value == scenario.expected_status, view.failure_reason
    assert view == fold(played.events)
    terminal = [
        e
        for e in played.events
        if e.type in {"RunCompleted", "RunFailed", "RunTerminated", "RunTimedOut", "RunCanceled"}
    ]
    assert len(terminal) == 1
    if scenario.cancel_on_turn is not None:
        # The step the cancel caught (here: while its model call was in flight) left nothing
        # after the end, whether the model answered first or the slice's watcher saw the end.
        after = [e.type for e in played.events[played.events.index(terminal[0]) + 1 :]]
        assert not [t for t in after if not t.startswith("Webhook")], after
    assert [f.filename for f in view.downloads] == list(scenario.downloads)
    if scenario.reason_contains:
        assert view.failure_reason is not None and scenario.reason_contains in view.failure_reason
    if scenario.crash_on_action is not None:
        # Each completed step left a checkpoint, so the retried slice went on from the last
        # one: no action that had completed was executed again.
        executed = [e.data.summary for e in played.events if isinstance(e.data, ev.ActionExecuted)]
        finished = [e for e in played.events if e.type == "StepFinished"]
        saved = [e for e in played.events if e.type == "CheckpointSaved"]
        assert len(executed) == len(set(executed)), executed
        # Every step but the one the crash interrupted and the last (which ended the run).
        assert saved and len(saved) >= len(finished) - 2, (len(saved), len(finished))
    if scenario.expected_status == "completed" and scenario.task.request.get("data_extraction_schema"):
        assert view.output == {"name": "Desk lamp", "sku": "LMP-204", "price": 34.99, "units_in_stock": 12}


def _check_links(played: Played, scenario: FlowScenario) -> None:
    """Every link the runs' answers handed out answered the bytes as stored (the drivers fetch
    them all): each step's screenshot, and each downloaded file, the file as the site sent it."""
    runs = [played, *played.others]
    screenshots = {f.artifact_id for f in played.links if f.where.startswith("screenshot_urls")}
    assert screenshots == {ref.artifact_id for p in runs for ref in p.view.screenshots}
    downloads = [f for f in played.links if f.where.startswith("downloaded_files")]
    assert {f.artifact_id for f in downloads} == {d.artifact_id for p in runs for d in p.view.downloads}
    if scenario.downloads:
        assert downloads and {f.data for f in downloads} == {REPORT_CSV}


@pytest.mark.parametrize("scenario", SCENARIOS, ids=SCENARIO_IDS)
def test_the_same_scenario_ends_the_same_way_with_the_same_events_on_both_runtimes(
    scenario: FlowScenario,
    tmp_path: Path,
    site: FixtureSite,
    model: FakeAnthropicServer,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    embedded = play_embedded(scenario, tmp_path, site, model)
    _check(embedded, scenario)
    _check_cap(embedded, scenario)
    _check_links(embedded, scenario)
    aws = play_aws(scenario, monkeypatch, site, model)
    _check(aws, scenario)
    _check_cap(aws, scenario)
    _check_links(aws, scenario)
    assert aws.types == embedded.types
    assert [p.types for p in aws.others] == [p.types for p in embedded.others]
    # On AWS every event of the runs also reached the bus (read from the rule's SQS target).
    assert sorted(aws.published) == sorted(t for p in [aws, *aws.others] for t in p.types)
    if scenario.max_running_per_org is not None and scenario.runs > scenario.max_running_per_org:
        # The state machine held the later run in its Wait state until a slot was free.
        assert sum(aws.slot_waits.values()) > 0, aws.slot_waits
