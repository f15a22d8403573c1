"""Limits a run cannot escape: its steps (a step cut short by a crash is not one of them), its
wall-clock time, the operator's cap on max_steps, and a start page the policy refuses."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path

import pytest

from altostratus.adapters.browser import BrowserRuntime, SessionConfig
from altostratus.adapters.browser.agent_browser import SessionBrowser
from altostratus.domain import events as ev
from altostratus.domain.enums import RunStatus, StepStatus
from altostratus.engine.agent import run_slice, run_to_end
from altostratus.runtimes.local import LocalRuntime, build_local
from altostratus.runtimes.settings import Settings
from tests.agent.fake_browser import El, FakeBrowser, FakePage
from tests.agent.harness import Harness, make_harness
from tests.fakes.anthropic_server import FakeAnthropicServer, HttpError, MessagesRequest, Reply, ToolUse
from tests.fakes.policies import Page, act, agent_policy
from tests.support.api_client import ApiClient
from tests.support.runs import d

HOME = "http://shop.test/"
OTHER = "http://shop.test/other"


def _two_pages() -> FakeBrowser:
    return FakeBrowser(
        pages={
            HOME: FakePage("Home", [El("e1", "link", "Other", href=OTHER)]),
            OTHER: FakePage("Other", [El("e2", "link", "Home", href=HOME)]),
        }
    )


def _wander(page: Page) -> Reply:
    target = "Other" if page.url == HOME else "Home"
    return act(ToolUse("click", {"element_id": page.element(target, role="link")}))


def _unset(request: MessagesRequest) -> HttpError:
    return HttpError(500, "api_error", "no policy")


@pytest.fixture
def harness(tmp_path: Path) -> Iterator[Harness]:
    with FakeAnthropicServer(_unset) as server:
        h = make_harness(tmp_path, server)
        yield h
        h.close()


def test_a_step_cut_short_by_a_crash_is_closed_as_interrupted_and_not_counted(harness: Harness) -> None:
    h = harness
    # GIVEN a run whose executor died in the middle of its first step
    run_id = h.create_run(prompt="Wander", url=HOME, max_steps=2)
    h.event_log.append(
        run_id, [d(ev.RunStarted()), d(ev.StepStarted(step_id="stp_ghost", order=1), "stp_ghost:started")]
    )
    assert h.view(run_id).step_count == 1
    # WHEN the run is executed again
    h.server.set_policy(agent_policy(_wander))
    asyncio.run(run_to_end(h.deps, run_id, browser=_two_pages()))
    # THEN the ghost step is closed as interrupted, and max_steps counts only the real ones
    view = h.view(run_id)
    assert view.status is RunStatus.TIMED_OUT
    finished = {f.step_id: f.status for f in h.of_type(run_id, ev.StepFinished)}
    assert finished.pop("stp_ghost") is StepStatus.INTERRUPTED
    assert list(finished.values()) == [StepStatus.COMPLETED, StepStatus.COMPLETED]
    assert view.step_count == 2
    entries = h.timeline(run_id)
    assert [e.status for e in entries] == ["interrupted", "completed", "completed"]


def test_a_run_past_its_time_limit_ends_timed_out_even_in_the_middle_of_a_model_call(
    harness: Harness,
) -> None:
    h = harness
    h.with_settings(max_run_seconds=60.0, watch_interval_s=0.05)
    clock = h.deps.clock
    run_id = h.create_run(prompt="Wander", url=HOME, max_steps=50)

    def slow(page: Page) -> Reply:
        if page.turn == 1:
            # The second call: the run's time runs out while the model "thinks" for a minute.
            clock.advance(timedelta(seconds=120))  # type: ignore[attr-defined]
            time.sleep(60)
        return _wander(page)

    h.server.set_policy(agent_policy(slow))
    started = time.monotonic()
    result = asyncio.run(run_slice(h.deps, run_id, browser=_two_pages(), deadline=1e9))
    # The slice did not wait for the model's answer: it gave up on the call.
    assert time.monotonic() - started < 30
    assert result.outcome is not None and result.outcome.status is RunStatus.TIMED_OUT
    assert result.outcome.reason == "Reached the run's time limit (60 s) before the goal was achieved."
    assert [e.error_code for e in result.outcome.errors] == ["RUN_TIME_LIMIT"]


@pytest.fixture
def local(tmp_path: Path) -> Iterator[LocalRuntime]:
    rt = build_local(Settings(data_dir=tmp_path / "data", max_steps_limit=40))
    yield rt
    rt.close()


def test_max_steps_above_the_operators_limit_is_refused_at_submission(local: LocalRuntime) -> None:
    client = ApiClient(local.api(), local.ensure_dev_key())
    for asked in (41, 10**30):
        reply = client.post("/v1/run/tasks", json_body={"prompt": "Find the price", "max_steps": asked})
        assert reply.status == 400, reply.body
        assert reply.json()["detail"] == f"max_steps must be at most 40 on this deployment; got {asked}."
    assert client.post("/v1/run/tasks", json_body={"prompt": "Find the price", "max_steps": 40}).status == 200


@pytest.mark.browser
def test_a_refused_start_url_fails_the_run_with_the_reason_and_no_model_call(
    harness: Harness, runtime: BrowserRuntime, browser_loop: asyncio.AbstractEventLoop
) -> None:
    h = harness
    h.server.set_policy(agent_policy(_wander))
    run_id = h.create_run(prompt="Read the metadata", url="http://169.254.169.254/latest/meta-data/")
    session = browser_loop.run_until_complete(runtime.new_session(SessionConfig()))
    try:
        view = browser_loop.run_until_complete(run_to_end(h.deps, run_id, browser=SessionBrowser(session)))
    finally:
        browser_loop.run_until_complete(session.close())
    assert view.status is RunStatus.FAILED
    assert view.failure_reason is not None
    assert view.failure_reason.startswith("The start URL was refused: ")
    assert "169.254.169.254 is a link-local address" in view.failure_reason
    assert h.server.successful() == []


def test_a_proxy_of_the_request_at_a_refused_address_is_refused_at_submission(local: LocalRuntime) -> None:
    client = ApiClient(local.api(), local.ensure_dev_key())
    reply = client.post(
        "/v1/run/tasks",
        json_body={"prompt": "Find the price", "proxy_location": {"url": "http://169.254.169.254:80"}},
    )
    assert reply.status == 400, reply.body
    assert reply.json()["detail"].startswith(
        "proxy_location.url is not allowed: 169.254.169.254 is a link-local"
    )
