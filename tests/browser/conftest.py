"""Chromium for the browser tests: one browser per test session (tests/support/browser_fixtures.py),
a fresh context per test.

Tests here may be ``async def``: they run on the session's event loop (the one the browser
was started on), so they can await the session directly.
"""

from __future__ import annotations

import asyncio
import inspect
from collections.abc import Iterator
from pathlib import Path

import pytest

from altostratus.adapters.browser import BrowserRuntime, BrowserSession, SessionConfig


@pytest.fixture
def session(
    runtime: BrowserRuntime, browser_loop: asyncio.AbstractEventLoop, tmp_path: Path
) -> Iterator[BrowserSession]:
    opened = browser_loop.run_until_complete(
        runtime.new_session(SessionConfig(download_dir=tmp_path / "downloads"))
    )
    yield opened
    browser_loop.run_until_complete(opened.close())


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    # This hook sees the whole session's items; only this folder's browser tests get the mark.
    here = Path(__file__).parent
    for item in items:
        uses_browser = {"runtime", "session", "browser_loop"} & set(getattr(item, "fixturenames", ()))
        if uses_browser and here in item.path.parents:
            item.add_marker(pytest.mark.browser)


@pytest.hookimpl(tryfirst=True)
def pytest_pyfunc_call(pyfuncitem: pytest.Function) -> bool | None:
    if not inspect.iscoroutinefunction(pyfuncitem.obj):
        return None
    loop: asyncio.AbstractEventLoop = pyfuncitem._request.getfixturevalue("browser_loop")
    arguments = {name: pyfuncitem.funcargs[name] for name in pyfuncitem._fixtureinfo.argnames}
    loop.run_until_complete(pyfuncitem.obj(**arguments))
    return True
