"""Fixtures of the agent tests: the fake Messages server, the engine's wiring, and for the
end-to-end tests one Chromium per test session (a fresh context per test) and the fixture site."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from pathlib import Path

import pytest

from altostratus.adapters.browser import BrowserRuntime, SessionConfig
from altostratus.adapters.browser.agent_browser import SessionBrowser
from tests.agent.harness import Harness, make_harness
from tests.fakes.anthropic_server import FakeAnthropicServer, HttpError, MessagesRequest


def _unset_policy(request: MessagesRequest) -> HttpError:
    return HttpError(500, "api_error", "the test set no policy")


@pytest.fixture
def server() -> Iterator[FakeAnthropicServer]:
    with FakeAnthropicServer(_unset_policy) as srv:
        yield srv


@pytest.fixture
def harness(tmp_path: Path, server: FakeAnthropicServer) -> Iterator[Harness]:
    h = make_harness(tmp_path, server)
    yield h
    h.close()


# --- real Chromium and the fixture site, for the end-to-end tests ---------------------------


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
