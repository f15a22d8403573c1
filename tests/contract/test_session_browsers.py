"""The session-browsers contract (see altostratus.ports.session_browsers), over every backend:
what one run of a session leaves in its browser — a cookie, local storage, IndexedDB, session
storage, the page it was on — is there for the session's next run; another session shares
none of it; a closed session's browser is gone. Real Chromium, the fixture site, the real
browser provider the agent slices use."""

from __future__ import annotations

import asyncio
import os
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from altostratus.adapters.browser import LaunchConfig
from altostratus.adapters.browser.live_sessions import LiveChromiumSessions
from altostratus.adapters.browser.provider import ChromiumBrowserProvider
from altostratus.adapters.checkpoint_sessions import CheckpointSessions
from altostratus.adapters.file_artifacts import FileArtifactStore
from altostratus.adapters.sealing import Sealer
from altostratus.adapters.sqlite_db import SQLiteDatabase
from altostratus.adapters.sqlite_session_log import SQLiteSessionLog
from altostratus.domain import sessions as s
from altostratus.domain.enums import RunStatus, RunType
from altostratus.domain.ids import IdFactory
from altostratus.domain.run_request import RunTaskRequest
from altostratus.domain.view import RunView
from altostratus.orchestration.sessions import SessionCloser
from altostratus.ports.session_browsers import SessionBrowsers
from altostratus.runtimes.browsers import browser_provider
from altostratus.runtimes.settings import Settings
from tests.support.clock import FakeClock
from tests.support.fixture_site import FixtureSite

pytestmark = pytest.mark.browser

# Every backend of the port; a new backend adds its name here and a branch to `backend`.
BACKENDS = ["embedded", "checkpoint"]

WRITE = """async () => {
  document.cookie = "member=alice; path=/";
  localStorage.setItem("theme", "dark");
  sessionStorage.setItem("draft", "order 42");
  await new Promise((done, failed) => {
    const open = indexedDB.open("portal", 1);
    open.onupgradeneeded = () => open.result.createObjectStore("carts");
    open.onerror = () => failed(open.error);
    open.onsuccess = () => {
      const tx = open.result.transaction("carts", "readwrite");
      tx.objectStore("carts").put({items: 3}, "current");
      tx.oncomplete = () => { open.result.close(); done(); };
    };
  });
}"""

READ = """async () => {
  const cart = await new Promise((done) => {
    const open = indexedDB.open("portal", 1);
    open.onupgradeneeded = () => open.result.createObjectStore("carts");
    open.onsuccess = () => {
      const db = open.result;
      if (!db.objectStoreNames.contains("carts")) { db.close(); return done(null); }
      const get = db.transaction("carts").objectStore("carts").get("current");
      get.onsuccess = () => { db.close(); done(get.result ?? null); };
    };
  });
  return {cookie: document.cookie, theme: localStorage.getItem("theme"),
          draft: sessionStorage.getItem("draft"), cart: cart};
}"""

NOTHING = {"cookie": "", "theme": None, "draft": None, "cart": None}


@dataclass
class Backend:
    browsers: SessionBrowsers
    log: SQLiteSessionLog
    provider: ChromiumBrowserProvider
    clock: FakeClock

    def open_session(self, session_id: str) -> None:
        created = s.SessionCreated(org_id="o_1", spec=s.SessionSpec(timeout=30), backend=self.browsers.name)
        self.log.append(session_id, [created])
        self.browsers.start(session_id)
        self.log.append(session_id, [s.SessionStarted(connectable=self.browsers.live)])

    def run(self, session_id: str, run_id: str, work: Any) -> Any:
        """One run of the session: it takes the lease, works in the session's browser for one
        slice, and releases the lease, as the state machine does."""
        self.log.acquire(session_id, run_id, self.clock.now() + timedelta(minutes=10))
        try:
            return asyncio.run(self._slice(session_id, run_id, work))
        finally:
            self.log.release(session_id, run_id)

    async def _slice(self, session_id: str, run_id: str, work: Any) -> Any:
        view = _run_view(run_id, session_id)
        try:
            async with self.provider.open(view, RunTaskRequest(prompt="p"), None) as opened:
                return await work(opened.session)
        finally:
            await self.provider.close()


def _run_view(run_id: str, session_id: str) -> RunView:
    now = datetime.now(UTC)
    return RunView(
        run_id=run_id,
        org_id="o_1",
        run_type=RunType.TASK_V2,
        status=RunStatus.RUNNING,
        version=3,
        created_at=now,
        modified_at=now,
        request={"prompt": "p"},
        request_echo={"prompt": "p"},
        browser_session_id=session_id,
    )


@pytest.fixture(params=BACKENDS)
def backend(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Backend]:
    settings = Settings(data_dir=tmp_path / "data")
    clock = FakeClock()
    db = SQLiteDatabase(tmp_path / "alto.db")
    log = SQLiteSessionLog(db, clock)
    browsers: SessionBrowsers
    if request.param == "embedded":
        browsers = LiveChromiumSessions(LaunchConfig(executable_path=settings.chromium_path))
    else:
        artifacts = FileArtifactStore(
            tmp_path / "artifacts", public_base_url="http://127.0.0.1", signing_secret=b"s" * 32
        )
        browsers = CheckpointSessions(log, artifacts, Sealer(os.urandom(32)), IdFactory())
    provider = browser_provider(settings, embedded=True, sessions=browsers)
    try:
        yield Backend(browsers, log, provider, clock)
    finally:
        browsers.close()
        db.close()


def test_what_a_run_leaves_is_there_for_the_sessions_next_run(backend: Backend, site: FixtureSite) -> None:
    backend.open_session("pbs_1")
    left = site.url("/controls.html")

    async def sign_in(browser: Any) -> None:
        await browser.goto(site.url("/index.html"))
        await browser.page.evaluate(WRITE)
        await browser.goto(left)

    async def look(browser: Any) -> tuple[str, dict[str, Any]]:
        return browser.page.url, await browser.page.evaluate(READ)

    backend.run("pbs_1", "tsk_1", sign_in)
    url, seen = backend.run("pbs_1", "tsk_2", look)
    assert url == left  # the page the first run left (live: the same page; else loaded again)
    assert seen == {"cookie": "member=alice", "theme": "dark", "draft": "order 42", "cart": {"items": 3}}
    # The port says which kind of backend it is: a live one can be reached over CDP.
    endpoint = backend.browsers.endpoint("pbs_1")
    assert (endpoint is not None) == backend.browsers.live
    assert (backend.browsers.saved_state("pbs_1") is None) == backend.browsers.live


def test_another_session_shares_nothing(backend: Backend, site: FixtureSite) -> None:
    backend.open_session("pbs_1")
    backend.open_session("pbs_2")

    async def sign_in(browser: Any) -> None:
        await browser.goto(site.url("/index.html"))
        await browser.page.evaluate(WRITE)

    async def look(browser: Any) -> dict[str, Any]:
        await browser.goto(site.url("/index.html"))
        seen: dict[str, Any] = await browser.page.evaluate(READ)
        return seen

    backend.run("pbs_1", "tsk_1", sign_in)
    assert backend.run("pbs_2", "tsk_2", look) == NOTHING


def test_a_closed_sessions_browser_is_gone(backend: Backend, site: FixtureSite) -> None:
    backend.open_session("pbs_1")

    async def sign_in(browser: Any) -> None:
        await browser.goto(site.url("/index.html"))
        await browser.page.evaluate(WRITE)

    backend.run("pbs_1", "tsk_1", sign_in)
    view = backend.log.get("pbs_1")
    assert view is not None
    SessionCloser(backend.log, backend.browsers).close(view)
    assert backend.browsers.saved_state("pbs_1") is None
    # Nothing of it is left for anyone (the browser of a live backend is a new one if asked).
    backend.browsers.stop("pbs_1")  # stopping again is a no-op

    async def look(browser: Any) -> dict[str, Any]:
        await browser.goto(site.url("/index.html"))
        seen: dict[str, Any] = await browser.page.evaluate(READ)
        return seen

    assert asyncio.run(backend._slice("pbs_1", "tsk_2", look)) == NOTHING
