"""The `agentcore` backend of the session-browser port, over the local fake of AgentCore's data
plane (SigV4 verified on every call and on the automation stream's handshake) in front of Debian
Chromium: what a session's runs see between slices, what closing it does to AgentCore, and that
a wrongly signed call or handshake gets nowhere.

Written to the shape of the port's contract (start → endpoint reached by each slice → stop),
the rest of the port's contract runs over this backend in `test_session_browsers.py`."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

import boto3
import httpx
import pytest
from playwright.async_api import async_playwright
from websockets.asyncio.client import connect
from websockets.exceptions import InvalidStatus

from altostratus.adapters.agentcore_sessions import AgentCoreSessions
from altostratus.devtools.fake_agentcore import FakeAgentCore, FakeCredentials
from altostratus.ports.session_browsers import CdpEndpoint, SessionBrowserError, SessionBrowsers
from tests.agent.scenarios import AGENT_PAGES
from tests.support.fixture_site import FixtureSite

pytestmark = pytest.mark.browser


@pytest.fixture
def fake(fake_agentcore: FakeAgentCore) -> FakeAgentCore:
    return fake_agentcore


def agentcore_backend_for(
    fake: FakeAgentCore, credentials: FakeCredentials | None = None
) -> AgentCoreSessions:
    """The backend as a runtime builds it, pointed at the fake (the contract suite uses it too)."""
    return _backend(fake, credentials)


def _backend(fake: FakeAgentCore, credentials: FakeCredentials | None = None) -> AgentCoreSessions:
    given = credentials or fake.credentials
    session = boto3.Session(
        aws_access_key_id=given.access_key,
        aws_secret_access_key=given.secret_key,
        aws_session_token=given.token,
        region_name=fake.region,
    )
    client = session.client("bedrock-agentcore", endpoint_url=fake.endpoint_url)
    return AgentCoreSessions(client, credentials=session.get_credentials, region=fake.region)


@pytest.fixture
def agentcore_backend(fake: FakeAgentCore) -> Iterator[AgentCoreSessions]:
    backend = _backend(fake)
    yield backend
    backend.close()


async def _slice_one(endpoint: CdpEndpoint, url: str) -> str:
    """A slice of run 1: sign in (the page sets a cookie) and leave the portal open; its stamp."""
    async with async_playwright() as playwright:
        browser = await playwright.chromium.connect_over_cdp(endpoint.url, headers=endpoint.headers)
        context = browser.contexts[0]
        page = context.pages[0] if context.pages else await context.new_page()
        await page.goto(url)
        await page.fill("#user", "alice")
        await page.click("button")
        await page.wait_for_url("**/session-home.html")
        stamp = await page.text_content("#opened")
        await browser.close()  # disconnects: the session's browser stays up
        return stamp or ""


async def _slice_two(endpoint: CdpEndpoint) -> tuple[list[str], str, str, list[str]]:
    """A slice of run 2: what it finds, without navigating anywhere."""
    async with async_playwright() as playwright:
        browser = await playwright.chromium.connect_over_cdp(endpoint.url, headers=endpoint.headers)
        context = browser.contexts[0]
        urls = [p.url for p in context.pages]
        page = next(p for p in context.pages if "session-home" in p.url)
        stamp = await page.text_content("#opened") or ""
        who = await page.text_content("#who") or ""
        cookies = [f"{c['name']}={c['value']}" for c in await context.cookies()]
        await browser.close()
        return urls, stamp, who, cookies


def test_two_runs_share_the_live_page_and_cookie_and_close_stops_the_agentcore_session(
    fake: FakeAgentCore, agentcore_backend: AgentCoreSessions, site: FixtureSite
) -> None:
    backend: SessionBrowsers = agentcore_backend
    assert backend.name == "agentcore" and backend.live
    # GIVEN a session started in AgentCore, under our id
    backend.start("pbs_two_runs")
    started = [s for s in fake.ready_sessions() if s.name == "pbs_two_runs"]
    assert len(started) == 1 and started[0].timeout_seconds == 6 * 3600
    # WHEN run 1's slice signs in on the portal and disconnects
    first = backend.endpoint("pbs_two_runs")
    assert first is not None and first.url.endswith(f"/sessions/{started[0].session_id}/automation")
    assert first.headers["Authorization"].startswith("AWS4-HMAC-SHA256 Credential=")
    stamp = asyncio.run(_slice_one(first, site.url(f"/{AGENT_PAGES}/session-login.html")))
    # THEN run 2's slice, connecting afresh (newly signed), finds the very page run 1 left
    # (not reloaded: same stamp) and the cookie
    second = backend.endpoint("pbs_two_runs")
    assert second is not None
    urls, again, who, cookies = asyncio.run(_slice_two(second))
    assert any(u.endswith("/session-home.html") for u in urls)
    assert again == stamp and stamp.startswith("Page stamp ")
    assert who == "Signed in as alice."
    assert "member=alice" in cookies
    assert started[0].automation_connections == 2
    # WHEN the session is stopped
    backend.stop("pbs_two_runs")
    # THEN AgentCore's session is TERMINATED, nothing reaches it, and stopping again is a no-op
    assert fake.sessions[started[0].session_id].status == "TERMINATED"
    assert backend.endpoint("pbs_two_runs") is None
    backend.stop("pbs_two_runs")
    assert not fake.refused


def test_another_process_finds_the_session_by_name_and_can_stop_it(
    fake: FakeAgentCore, agentcore_backend: AgentCoreSessions
) -> None:
    # GIVEN a session started by one process (the API) ...
    agentcore_backend.start("pbs_elsewhere")
    # ... WHEN another (a slice's, a timeout's) that never saw it asks for it
    other = _backend(fake)
    endpoint = other.endpoint("pbs_elsewhere")
    # THEN it reaches the same AgentCore session, and its stop ends it
    remote = next(s for s in fake.sessions.values() if s.name == "pbs_elsewhere")
    assert endpoint is not None and remote.session_id in endpoint.url
    title = asyncio.run(_title(endpoint))
    assert title is not None
    other.stop("pbs_elsewhere")
    assert remote.status == "TERMINATED"
    assert agentcore_backend.endpoint("pbs_elsewhere") is None
    # AND a session never started has no endpoint, and stopping it does nothing
    assert other.endpoint("pbs_never") is None
    other.stop("pbs_never")


async def _title(endpoint: CdpEndpoint) -> str:
    async with async_playwright() as playwright:
        browser = await playwright.chromium.connect_over_cdp(endpoint.url, headers=endpoint.headers)
        pages = browser.contexts[0].pages
        title = await pages[0].title() if pages else ""
        await browser.close()
        return title


def test_a_retried_start_gets_the_same_agentcore_session(
    fake: FakeAgentCore, agentcore_backend: AgentCoreSessions
) -> None:
    agentcore_backend.start("pbs_retried")
    _backend(fake).start("pbs_retried")  # a retried create (another Lambda attempt)
    assert [s.name for s in fake.ready_sessions()].count("pbs_retried") == 1
    agentcore_backend.stop("pbs_retried")


def test_closing_the_backend_stops_the_sessions_it_started(fake: FakeAgentCore) -> None:
    backend = _backend(fake)
    backend.start("pbs_closing_a")
    backend.start("pbs_closing_b")
    backend.close()
    names = {s.name: s.status for s in fake.sessions.values()}
    assert names["pbs_closing_a"] == "TERMINATED" and names["pbs_closing_b"] == "TERMINATED"


def test_wrong_credentials_are_refused_by_the_data_plane(fake: FakeAgentCore) -> None:
    before = len(fake.sessions)
    wrong = _backend(fake, FakeCredentials(secret_key="not-the-secret"))
    with pytest.raises(SessionBrowserError) as refused:
        wrong.start("pbs_wrong_key")
    assert "AccessDeniedException" in str(refused.value)
    assert "not-the-secret" not in str(refused.value)
    assert len(fake.sessions) == before
    assert fake.refused[-1][1] == "/browsers/aws.browser.v1/sessions/start"


def test_a_handshake_not_signed_right_is_refused_with_403(
    fake: FakeAgentCore, agentcore_backend: AgentCoreSessions
) -> None:
    agentcore_backend.start("pbs_handshake")
    try:
        good = agentcore_backend.endpoint("pbs_handshake")
        assert good is not None
        wrong_key = _backend(fake, FakeCredentials(secret_key="not-the-secret"))
        # Signed with the wrong secret (the session found with the right client's answer).
        forged = CdpEndpoint(good.url, wrong_key._signed_headers(good.url))
        tampered = dict(good.headers, Authorization=good.headers["Authorization"][:-4] + "0000")
        # Signed for another session's stream, replayed here.
        other_path = good.url.replace("/sessions/", "/sessions/X")
        replayed = agentcore_backend._signed_headers(other_path)
        no_token = {k: v for k, v in good.headers.items() if k != "X-Amz-Security-Token"}
        for headers in (forged.headers, tampered, replayed, no_token, {}):
            with pytest.raises(InvalidStatus) as refused:
                asyncio.run(_handshake(good.url, headers))
            assert refused.value.response.status_code == 403
        # AND the right signature still connects
        asyncio.run(_handshake(good.url, good.headers))
    finally:
        agentcore_backend.stop("pbs_handshake")


async def _handshake(url: str, headers: dict[str, str]) -> None:
    async with connect(url, additional_headers=headers or None):
        pass


def test_the_live_view_link_opens_the_sessions_live_view_and_a_tampered_one_does_not(
    fake: FakeAgentCore, agentcore_backend: AgentCoreSessions, site: FixtureSite
) -> None:
    agentcore_backend.start("pbs_live_view")
    try:
        endpoint = agentcore_backend.endpoint("pbs_live_view")
        assert endpoint is not None
        asyncio.run(_slice_one(endpoint, site.url(f"/{AGENT_PAGES}/session-login.html")))
        link = agentcore_backend.live_view_url("pbs_live_view")
        assert link is not None
        query = dict(parse_qsl(urlsplit(link).query))
        assert query["X-Amz-Expires"] == "300" and query["X-Amz-Algorithm"] == "AWS4-HMAC-SHA256"
        shown = httpx.get(link, timeout=10)
        assert shown.status_code == 200
        assert "Portal home" in shown.text and "session-home.html" in shown.text
        parts = urlsplit(link)
        tampered = dict(parse_qsl(parts.query), **{"X-Amz-Signature": "0" * 64})
        assert httpx.get(urlunsplit(parts._replace(query=urlencode(tampered))), timeout=10).status_code == 403
        unsigned = urlunsplit(parts._replace(query=""))
        assert httpx.get(unsigned, timeout=10).status_code == 403
    finally:
        agentcore_backend.stop("pbs_live_view")
    assert agentcore_backend.live_view_url("pbs_live_view") is None
