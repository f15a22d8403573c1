"""Shared pytest fixtures (a plugin, see tests/conftest.py): one event loop and one Chromium per
test session, and the fixture site; suites open a fresh context per test on top of these."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator

import pytest

from altostratus.adapters.browser import BrowserRuntime
from tests.support.fixture_site import FixtureSite


@pytest.fixture(scope="session")
def browser_loop() -> Iterator[asyncio.AbstractEventLoop]:
    loop = asyncio.new_event_loop()
    yield loop
    loop.close()


@pytest.fixture(scope="session")
def site() -> Iterator[FixtureSite]:
    with FixtureSite() as running:
        yield running


@pytest.fixture(scope="session")
def runtime(browser_loop: asyncio.AbstractEventLoop) -> Iterator[BrowserRuntime]:
    started = browser_loop.run_until_complete(BrowserRuntime.launch_local())
    yield started
    browser_loop.run_until_complete(started.close())
