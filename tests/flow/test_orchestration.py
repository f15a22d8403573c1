"""A submitted run starts, steps, stops on cancel or budget, and ends in exactly one terminal
state — on the embedded runner and on Step Functions (moto), with the same events."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from altostratus.domain.view import fold
from tests.fakes.anthropic_server import FakeAnthropicServer, HttpError
from tests.flow.drivers import Played, play_aws, play_embedded
from tests.flow.scenarios import SCENARIO_IDS, SCENARIOS, FlowScenario
from tests.support.fixture_site import FixtureSite

pytestmark = pytest.mark.browser


@pytest.fixture
def model() -> Iterator[FakeAnthropicServer]:
    with FakeAnthropicServer(lambda request: HttpError(500, "api_error", "no policy yet")) as server:
        yield server


def _check(played: Played, scenario: FlowScenario) -> None:
    view = played.view
    assert view.status.value == scenario.expected_status, view.failure_reason
    assert view == fold(played.events)
    terminal = [
        e
        for e in played.events
        if e.type in {"RunCompleted", "RunFailed", "RunTerminated", "RunTimedOut", "RunCanceled"}
    ]
    assert len(terminal) == 1
    if scenario.reason_contains:
        assert view.failure_reason is not None and scenario.reason_contains in view.failure_reason
    if scenario.expected_status == "completed" and scenario.task.request.get("data_extraction_schema"):
        assert view.output == {"name": "Desk lamp", "sku": "LMP-204", "price": 34.99, "units_in_stock": 12}


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
    aws = play_aws(scenario, monkeypatch, site, model)
    _check(aws, scenario)
    assert aws.types == embedded.types
    # On AWS every event of the run also reached the bus (read from the rule's SQS target).
    assert sorted(aws.published) == sorted(aws.types)
