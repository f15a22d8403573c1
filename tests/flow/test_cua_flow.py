"""A computer-use run on both runtimes: the embedded runner and Step Functions (moto) play the
same scripted anthropic-cua scenario to the same output with the same event types."""

from __future__ import annotations

import asyncio
import dataclasses
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from altostratus.adapters.browser import BrowserRuntime
from altostratus.devtools import cua_script as cs
from altostratus.devtools.fake_anthropic.computer import with_extraction
from altostratus.devtools.fake_anthropic.policies import extract_with
from altostratus.domain.view import fold
from tests.agent.scenarios import EXTRACTION
from tests.cua import scenario as sc
from tests.fakes.anthropic_server import FakeAnthropicServer, HttpError, MessagesRequest
from tests.flow.drivers import play_aws, play_embedded
from tests.flow.scenarios import FlowScenario
from tests.support.fixture_site import FixtureSite

pytestmark = pytest.mark.browser


@dataclasses.dataclass(frozen=True)
class CuaFlow(FlowScenario):
    """The order scenario on anthropic-cua (the password typed as plain text: the flow's
    runtimes have no named secrets)."""

    layout: cs.Layout | None = None

    def request(self, site: FixtureSite) -> dict[str, Any]:
        return {
            "prompt": "Sign in as alice and place the order for the Team plan with the newsletter.",
            "url": site.url(sc.ORDER_PAGE),
            "engine": "anthropic-cua",
            "max_steps": 20,
            "data_extraction_schema": sc.ORDER_SCHEMA,
        }

    def policy(self, cancel: Callable[[], None]) -> Callable[[MessagesRequest], Any]:
        assert self.layout is not None
        script = sc.order_script(self.layout)
        script.intents[3] = cs.Type(sc.PASSWORD)
        return with_extraction(script, extract_with(sc.read_confirmation))


@pytest.fixture
def model() -> Iterator[FakeAnthropicServer]:
    with FakeAnthropicServer(lambda request: HttpError(500, "api_error", "no policy yet")) as server:
        yield server


def test_a_computer_use_run_ends_the_same_way_on_both_runtimes(
    tmp_path: Path,
    site: FixtureSite,
    model: FakeAnthropicServer,
    monkeypatch: pytest.MonkeyPatch,
    browser_loop: asyncio.AbstractEventLoop,
    runtime: BrowserRuntime,
) -> None:
    layout = sc.measure(browser_loop, runtime, site.url(sc.ORDER_PAGE))
    scenario = CuaFlow("anthropic-cua order", EXTRACTION, "completed", layout=layout)
    embedded = play_embedded(scenario, tmp_path, site, model)
    aws = play_aws(scenario, monkeypatch, site, model)
    for played in (embedded, aws):
        assert played.view.status.value == "completed", played.view.failure_reason
        assert played.view.output == sc.EXPECTED_OUTPUT
        assert played.view == fold(played.events)
        assert played.view.run_type.value == "anthropic_cua"
        # Every link the run's answers handed out answered the bytes as stored (the drivers
        # fetch them all): its screenshots (every action's) and its recording among them.
        assert {f.where.partition("[")[0] for f in played.links} >= {"screenshot_urls", "recording_url"}
    assert aws.types == embedded.types
