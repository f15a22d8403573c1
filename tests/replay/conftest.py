"""Fixtures of the replay suite: the fake Messages server and the engine's wiring (as the agent
suite has them), a fresh browser context per test on the session's Chromium, and one recorded
AI run of the order task per test session (recording is the slow part; replays are what is
tested)."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from pathlib import Path

import pytest

from altostratus.adapters.browser import BrowserRuntime, SessionConfig
from altostratus.adapters.browser.agent_browser import SessionBrowser
from altostratus.domain import events as ev
from tests.agent.harness import Harness, make_harness
from tests.fakes.anthropic_server import FakeAnthropicServer, HttpError, MessagesRequest
from tests.replay import scenario
from tests.support.fixture_site import FixtureSite


def _unset_policy(request: MessagesRequest) -> HttpError:
    return HttpError(500, "api_error", "the test set no policy")


@pytest.fixture(scope="session")
def server() -> Iterator[FakeAnthropicServer]:
    with FakeAnthropicServer(_unset_policy) as srv:
        yield srv


@pytest.fixture(scope="session")
def harness(tmp_path_factory: pytest.TempPathFactory, server: FakeAnthropicServer) -> Iterator[Harness]:
    h = make_harness(tmp_path_factory.mktemp("replay"), server)
    yield h
    h.close()


@pytest.fixture
def chromium(
    runtime: BrowserRuntime, browser_loop: asyncio.AbstractEventLoop, tmp_path: Path
) -> Iterator[SessionBrowser]:
    """A fresh browser context for one test, as the agent's browser port."""
    session = browser_loop.run_until_complete(
        runtime.new_session(SessionConfig(download_dir=tmp_path / "downloads"))
    )
    yield SessionBrowser(session)
    browser_loop.run_until_complete(session.close())


@pytest.fixture(scope="session")
def recorded(
    harness: Harness,
    runtime: BrowserRuntime,
    browser_loop: asyncio.AbstractEventLoop,
    site: FixtureSite,
    tmp_path_factory: pytest.TempPathFactory,
) -> list[ev.Event]:
    """The events of one completed AI run of the order task."""
    config = SessionConfig(download_dir=tmp_path_factory.mktemp("downloads"))
    session = browser_loop.run_until_complete(runtime.new_session(config))
    try:
        return scenario.record(harness, browser_loop, site, SessionBrowser(session))
    finally:
        browser_loop.run_until_complete(session.close())
