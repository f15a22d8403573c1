"""Browser sessions with the official Skyvern SDK (skyvern==1.0.56) against a real `alto serve`
that executes runs: real Chromium per session, the fake Messages server playing the model."""

from __future__ import annotations

import asyncio
import hashlib
import json
import re
import sys
import time
import types
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest
from playwright.async_api import BrowserContext
from skyvern.client import Skyvern as SkyvernClient
from skyvern.client.core.api_error import ApiError
from skyvern.client.errors import BadRequestError, NotFoundError, UnprocessableEntityError
from skyvern.library.skyvern import Skyvern
from websockets.asyncio.client import connect
from websockets.exceptions import InvalidStatus

from altostratus.adapters.sqlite_db import SQLiteDatabase
from altostratus.adapters.sqlite_session_log import SQLiteSessionLog
from altostratus.domain import sessions as s
from altostratus.runtimes.local import build_local
from altostratus.runtimes.settings import Settings
from tests.agent.scenarios import AGENT_PAGES, click, type_text
from tests.fakes.anthropic_server import FakeAnthropicServer, Reply
from tests.fakes.policies import Page, act, agent_policy, done, terminate
from tests.support.clock import FakeClock
from tests.support.fixture_site import REPORT_CSV, FixtureSite
from tests.support.server import RunningServer, alto, alto_serve

pytestmark = pytest.mark.browser

LOGIN = "Sign in to the portal as alice"
DOWNLOAD = "Download the monthly report"
WATCH = "Keep an eye on the portal"
CHECK = "Say who is signed in to the portal"
FINAL = {"completed", "failed", "terminated", "timed_out", "canceled"}


def _prompt(page: Page) -> str:
    return json.dumps(page.request.body)


def _agent(page: Page) -> Reply:
    if DOWNLOAD in _prompt(page):
        if page.turn == 0:
            return act(click(page.element("link", "Download the report")))
        return done("The report was downloaded.", {"file": "report.csv"})
    if WATCH in _prompt(page):
        return act(click(page.element("link", "Reload the portal")))  # never done
    if LOGIN in _prompt(page):
        if "session-login" in page.url:
            if page.turn == 0:
                return act(type_text(page.element("textbox", "Username"), "alice"))
            return act(click(page.element("button", "Sign in")))
        if page.sees("Signed in as alice"):
            return done("Signed in", {"who": "alice"})
        return terminate("no login")
    # The check run starts where the login run left the browser, without a url of its own.
    if "again=1" not in page.url:
        if not page.sees("Signed in as alice"):
            return terminate(f"the page left by the previous run is not here: {page.url}")
        return act(click(page.element("link", "Reload the portal")))
    if page.sees("Signed in as alice"):
        return done("alice is signed in", {"who": "alice"})
    return terminate("the login did not survive a reload")


@dataclass
class Sessions:
    server: RunningServer
    model: FakeAnthropicServer
    key: str
    other_key: str

    @contextmanager
    def session_log(self, clock: FakeClock) -> Iterator[SQLiteSessionLog]:
        """The server's own session log, written with `clock` (to make a session older)."""
        db = SQLiteDatabase(Settings(data_dir=self.server.data_dir).database_path)
        try:
            yield SQLiteSessionLog(db, clock)
        finally:
            db.close()

    def org_id(self) -> str:
        store = build_local(Settings(data_dir=self.server.data_dir))
        try:
            org = store.keys.org_by_name("sessions")
            assert org is not None
            return org.org_id
        finally:
            store.close()

    def client(self, key: str | None = None) -> SkyvernClient:
        return SkyvernClient(base_url=self.server.base_url, api_key=key or self.key, timeout=30)


@pytest.fixture(scope="module")
def sessions(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Sessions]:
    data_dir: Path = tmp_path_factory.mktemp("alto-sessions")
    key = alto("keys", "create", "--org", "sessions", data_dir=data_dir).strip()
    other_key = alto("keys", "create", "--org", "someone-else", data_dir=data_dir).strip()
    # Some latency per answer, so the second run is submitted while the first one runs.
    with FakeAnthropicServer(agent_policy(_agent), delay_s=0.4) as model:
        env = {"ANTHROPIC_API_KEY": model.api_key, "ALTO_ANTHROPIC_BASE_URL": model.base_url}
        with alto_serve(data_dir, env=env) as server:
            yield Sessions(server=server, model=model, key=key, other_key=other_key)


def _wait(check: Callable[[], Any], what: str, timeout_s: float = 90) -> Any:
    deadline = time.monotonic() + timeout_s
    while not (found := check()):
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        time.sleep(0.1)
    return found


def test_two_runs_in_one_session_queue_and_share_the_login_and_the_page(
    sessions: Sessions, site: FixtureSite, sdk_browsers: None
) -> None:
    sdk = sessions.client()
    # GIVEN a session
    created = sdk.create_browser_session(timeout=30)
    session_id = created.browser_session_id
    assert session_id.startswith("pbs_")
    assert created.status == "running" and created.timeout == 30 and created.started_at is not None
    assert created.runnable_id is None and created.completed_at is None
    assert [s.browser_session_id for s in sdk.get_browser_sessions()].count(session_id) == 1
    # WHEN run 1 signs in inside it, and run 2 is submitted while run 1 runs
    first = sdk.run_task(
        prompt=LOGIN, url=site.url(f"/{AGENT_PAGES}/session-login.html"), browser_session_id=session_id
    )
    _wait(lambda: sdk.get_run(first.run_id).status == "running", "run 1 to start")
    held = _wait(lambda: sdk.get_browser_session(session_id).runnable_id, "run 1 to lease the session")
    assert held == first.run_id
    second = sdk.run_task(prompt=CHECK, browser_session_id=session_id)
    # THEN run 2 waits, queued, while run 1 holds the session
    assert sdk.get_run(second.run_id).status == "queued"
    time.sleep(1.0)
    if sdk.get_run(first.run_id).status == "running":
        assert sdk.get_run(second.run_id).status == "queued"
    one = _wait(lambda: (r := sdk.get_run(first.run_id)).status in FINAL and r, "run 1 to end")
    two = _wait(lambda: (r := sdk.get_run(second.run_id)).status in FINAL and r, "run 2 to end")
    assert one.status == "completed", one.failure_reason
    # AND run 2 started only after run 1 ended, saw the page run 1 left and the login after a reload
    assert two.status == "completed", two.failure_reason
    assert two.output == {"who": "alice"}
    assert two.started_at is not None and one.finished_at is not None and two.started_at >= one.finished_at
    assert two.browser_session_id == session_id
    # AND the session is free again
    idle = _wait(
        lambda: (s := sdk.get_browser_session(session_id)).runnable_id is None and s, "the lease to end"
    )
    assert idle.status == "running"
    # AND the SDK's own helpers connect to it over our CDP endpoint and find the page the runs
    # left; use_cloud_browser reuses it
    assert idle.browser_address == f"ws{sessions.server.base_url[4:]}/v1/browser_sessions/{session_id}/cdp"
    listed = len(sdk.get_browser_sessions())
    assert asyncio.run(_connected_title(sessions, session_id)) == ("Portal home", session_id)
    assert len(sdk.get_browser_sessions()) == listed  # reused, none created
    # AND a handshake with a wrong key, or another organization's, is refused
    for key in ("alto_wrong", sessions.other_key, None):
        with pytest.raises(InvalidStatus) as refused_ws:
            asyncio.run(_handshake(idle.browser_address, key))
        assert refused_ws.value.response.status_code == 403
    # WHEN it is closed
    assert sdk.close_browser_session(session_id) == {"message": "Browser session closed"}
    closed = sdk.get_browser_session(session_id)
    # THEN its status and timestamps say so, it leaves the listing, and a run cannot use it
    assert closed.status == "completed" and closed.completed_at is not None
    assert closed.started_at is not None and closed.completed_at >= closed.started_at
    assert closed.browser_address is None
    assert session_id not in [s.browser_session_id for s in sdk.get_browser_sessions()]
    with pytest.raises(BadRequestError) as refused:
        sdk.run_task(prompt=CHECK, browser_session_id=session_id)
    assert refused.value.body == {
        "detail": f"Browser session {session_id} is closed. Create a new browser session and retry."
    }
    # AND closing again is a no-op
    assert sdk.close_browser_session(session_id) == {"message": "Browser session closed"}


class _HandedBrowser:
    """Stands in for the SDK's `SkyvernBrowser`, the wrapper its browser helpers return around
    the Playwright context they connected: that one module refuses to import without the SDK's
    `local` extra, whose pins (playwright 1.46, anthropic < 0.123, greenlet 3.0.3 on Python
    3.11) conflict with this project's. Everything before it, the SDK's own code, runs."""

    def __init__(self, skyvern: Any, browser_context: BrowserContext, **settings: Any) -> None:
        self.context = browser_context
        self.settings = settings


@pytest.fixture
def sdk_browsers(monkeypatch: pytest.MonkeyPatch) -> None:
    module = types.ModuleType("skyvern.library.skyvern_browser")
    module.SkyvernBrowser = _HandedBrowser  # type: ignore[attr-defined]
    monkeypatch.setitem(sys.modules, "skyvern.library.skyvern_browser", module)


async def _connected_title(sessions: Sessions, session_id: str) -> tuple[str, str]:
    """The SDK's own `connect_to_cloud_browser_session` (read the session, connect over its
    `browser_address` with the key in the handshake, hand downloads back to the browser, take
    the first context): the title of the page the runs left. Then `use_cloud_browser`, which
    must reuse this idle session rather than create one: the id it connected to."""
    sdk = Skyvern(api_key=sessions.key, base_url=sessions.server.base_url, timeout=30)
    try:
        handed = await sdk.connect_to_cloud_browser_session(session_id)
        assert isinstance(handed, _HandedBrowser)
        assert handed.settings["browser_session_id"] == session_id
        title = await handed.context.pages[-1].title()
        assert handed.context.browser is not None
        await handed.context.browser.close()  # disconnects; the session's browser stays up
        reused = await sdk.use_cloud_browser()
        assert isinstance(reused, _HandedBrowser)
        assert reused.context.browser is not None
        await reused.context.browser.close()
        return title, str(reused.settings["browser_session_id"])
    finally:
        await sdk.aclose()


async def _handshake(address: str, key: str | None) -> None:
    headers = {"x-api-key": key} if key else None
    async with connect(address, additional_headers=headers):
        pass


def test_another_organization_and_an_unknown_session_are_not_found(sessions: Sessions) -> None:
    sdk = sessions.client()
    session_id = sdk.create_browser_session().browser_session_id
    other = sessions.client(sessions.other_key)
    try:
        for call in (
            lambda: other.get_browser_session(session_id),
            lambda: other.close_browser_session(session_id),
            lambda: other.extend_browser_session(session_id, additional_minutes=5),
        ):
            with pytest.raises(NotFoundError) as missing:
                call()
            assert missing.value.body == {"detail": f"Browser session {session_id} not found"}
        # run_task declares no 404 in the SDK: it surfaces as its generic ApiError.
        with pytest.raises(ApiError) as unknown:
            other.run_task(prompt=CHECK, browser_session_id=session_id)
        assert unknown.value.status_code == 404
        assert unknown.value.body == {"detail": f"Browser session {session_id} not found"}
        assert session_id not in [s.browser_session_id for s in other.get_browser_sessions()]
        with pytest.raises(NotFoundError):
            sdk.get_browser_session("pbs_1")
    finally:
        sdk.close_browser_session(session_id)


def test_timeouts_are_validated_capped_and_extended(sessions: Sessions) -> None:
    sdk = sessions.client()
    # A timeout under the minimum is refused; above the cap it is capped with a warning.
    with pytest.raises(UnprocessableEntityError):
        sdk.create_browser_session(timeout=4)
    capped = sdk.create_browser_session(timeout=500)
    try:
        assert capped.timeout == 240
        warning = (capped.model_extra or {}).get("warning") or getattr(capped, "warning", None)
        assert warning and "exceeds the maximum of 240 minutes" in warning
        # Extending adds to the total, up to 360 minutes, capping the rest with a warning.
        extended = sdk.extend_browser_session(capped.browser_session_id, additional_minutes=60)
        assert extended.timeout == 300
        topped = sdk.extend_browser_session(capped.browser_session_id, additional_minutes=100)
        assert topped.timeout == 360
        assert "only 60 minutes remained" in ((topped.model_extra or {}).get("warning") or "")
        assert sdk.get_browser_session(capped.browser_session_id).timeout == 360
    finally:
        sdk.close_browser_session(capped.browser_session_id)


def test_a_session_closes_at_its_deadline_even_mid_run_and_the_run_fails_with_the_reason(
    sessions: Sessions, site: FixtureSite
) -> None:
    sdk = sessions.client()
    # GIVEN a session of 5 minutes that started 4 minutes 52 seconds ago
    started = datetime.now(UTC) - timedelta(minutes=4, seconds=52)
    session_id = f"pbs_{int(time.time() * 1000)}"
    with sessions.session_log(FakeClock(started)) as log:
        spec = s.SessionSpec(timeout=5)
        log.append(session_id, [s.SessionCreated(org_id=sessions.org_id(), spec=spec, backend="embedded")])
        log.append(session_id, [s.SessionStarted(connectable=True)])
    assert sdk.get_browser_session(session_id).status == "running"
    # WHEN a run works in it past that deadline
    run = sdk.run_task(
        prompt=WATCH,
        url=site.url(f"/{AGENT_PAGES}/session-home.html"),
        browser_session_id=session_id,
        max_steps=100,
    )
    _wait(lambda: sdk.get_run(run.run_id).status == "running", "the run to start")
    ended = _wait(lambda: (r := sdk.get_run(run.run_id)).status in FINAL and r, "the run to end", 60)
    # THEN the session timed out with its timestamps, and the run failed saying why
    assert ended.status == "failed"
    assert ended.failure_reason == f"Browser session {session_id} reached its timeout of 5 minutes"
    closed = sdk.get_browser_session(session_id)
    assert closed.status == "timeout" and closed.completed_at is not None and closed.runnable_id is None
    assert closed.completed_at >= closed.started_at  # type: ignore[operator]


ARTIFACT_LINK = re.compile(r"^/v1/artifacts/([^/?]+)/content$")


def _ended(sdk: SkyvernClient, run_id: str) -> Any:
    return _wait(lambda: (v := sdk.get_run(run_id)).status in FINAL and v, f"run {run_id} to end")


def _link_id(url: str) -> str:
    found = ARTIFACT_LINK.match(httpx.URL(url).path)
    assert found is not None, url
    return found.group(1)


def _fetched(sessions: Sessions, url: str) -> bytes:
    """The bytes behind a link the API handed out, fetched with nothing but its signature,
    checked against what the API serves for that artifact with a key."""
    artifact_id = _link_id(url)
    plain = httpx.get(url, timeout=30)
    assert plain.status_code == 200, (url, plain.status_code)
    keyed = httpx.get(
        f"{sessions.server.base_url}/v1/artifacts/{artifact_id}/content",
        headers={"x-api-key": sessions.key},
        timeout=30,
    )
    assert keyed.status_code == 200 and plain.content == keyed.content and plain.content
    return plain.content


def test_a_sessions_downloads_and_recordings_are_its_runs_newest_first_byte_for_byte(
    sessions: Sessions, site: FixtureSite
) -> None:
    sdk = sessions.client()
    # GIVEN a session in which two runs, one after the other, each download the report
    session_id = sdk.create_browser_session(timeout=30).browser_session_id
    try:
        runs = []
        for _ in range(2):
            run_id = sdk.run_task(
                prompt=DOWNLOAD, url=site.url("/files.html"), browser_session_id=session_id
            ).run_id
            ended = _ended(sdk, run_id)
            assert ended.status == "completed", ended.failure_reason
            runs.append(ended)
        # WHEN the session is read through the SDK
        session = sdk.get_browser_session(session_id)
        # THEN its downloaded_files are the runs' files, newest first, each link the file's bytes
        newest, oldest = runs[1], runs[0]
        assert [f.artifact_id for f in session.downloaded_files or []] == [
            (newest.downloaded_files or [])[0].artifact_id,
            (oldest.downloaded_files or [])[0].artifact_id,
        ]
        for file in session.downloaded_files or []:
            assert file.filename == "report.csv" and file.file_size == len(REPORT_CSV)
            assert file.checksum == hashlib.sha256(REPORT_CSV).hexdigest()
            assert _fetched(sessions, file.url) == REPORT_CSV
        stamps = [f.modified_at.isoformat() if f.modified_at else "" for f in session.downloaded_files or []]
        assert "" not in stamps and stamps == sorted(stamps, reverse=True)
        # AND its recordings are the runs' videos, newest first, each link the run's recording
        recorded = [r for r in (newest, oldest) if r.recording_url]
        assert len(session.recordings or []) == len(recorded) == 2
        for video, run in zip(session.recordings or [], recorded, strict=True):
            assert _link_id(video.url) == _link_id(run.recording_url or "")
            data = _fetched(sessions, video.url)
            assert data[4:8] == b"ftyp"  # an MP4
            assert video.file_size in (None, len(data))
        stamps = [v.modified_at.isoformat() if v.modified_at else "" for v in session.recordings or []]
        assert "" not in stamps and stamps == sorted(stamps, reverse=True)
        # AND the listing carries the same files
        listed = next(x for x in sdk.get_browser_sessions() if x.browser_session_id == session_id)
        assert [f.artifact_id for f in listed.downloaded_files or []] == [
            f.artifact_id for f in session.downloaded_files or []
        ]
    finally:
        sdk.close_browser_session(session_id)


def test_a_runs_recording_url_read_with_get_run_is_its_video_byte_for_byte(
    sessions: Sessions, site: FixtureSite
) -> None:
    sdk = sessions.client()
    run = sdk.run_task(prompt=DOWNLOAD, url=site.url("/files.html"))
    ended = _ended(sdk, run.run_id)
    assert ended.status == "completed", ended.failure_reason
    assert ended.recording_url is not None
    video = _fetched(sessions, ended.recording_url)
    assert video[4:8] == b"ftyp"
    # The run's recording artifact is these bytes.
    recording = [a for a in sdk.get_run_artifacts(run.run_id) if a.artifact_type == "recording"]
    assert len(recording) == 1
    assert _link_id(ended.recording_url) == recording[0].artifact_id
