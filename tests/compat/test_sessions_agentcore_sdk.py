"""Browser sessions in AgentCore Browser (`ALTO_SESSION_BACKEND=agentcore`), through the official
Skyvern SDK against a real `alto serve`: the server starts an AgentCore session per browser
session at the local fake of AgentCore's data plane (SigV4 checked on every call), each run's
slices reach it over its signed automation stream, and closing the session stops it there."""

from __future__ import annotations

import asyncio
import re
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit

import httpx
import pytest
from playwright.async_api import async_playwright
from skyvern.client import Skyvern as SkyvernClient

from altostratus.devtools.fake_agentcore import FakeAgentCore
from tests.agent.scenarios import AGENT_PAGES
from tests.compat.test_sessions_sdk import CHECK, FINAL, LOGIN, _agent, _wait
from tests.fakes.anthropic_server import FakeAnthropicServer
from tests.fakes.policies import agent_policy
from tests.support.fixture_site import FixtureSite
from tests.support.server import RunningServer, alto, alto_serve

pytestmark = pytest.mark.browser


@dataclass
class AgentCoreServer:
    server: RunningServer
    agentcore: FakeAgentCore
    key: str

    def client(self) -> SkyvernClient:
        return SkyvernClient(base_url=self.server.base_url, api_key=self.key, timeout=30)


@pytest.fixture(scope="module")
def served(tmp_path_factory: pytest.TempPathFactory) -> Iterator[AgentCoreServer]:
    data_dir: Path = tmp_path_factory.mktemp("alto-agentcore-sessions")
    key = alto("keys", "create", "--org", "agentcore", data_dir=data_dir).strip()
    with FakeAgentCore() as agentcore, FakeAnthropicServer(agent_policy(_agent), delay_s=0.4) as model:
        credentials = agentcore.credentials
        env = {
            "ANTHROPIC_API_KEY": model.api_key,
            "ALTO_ANTHROPIC_BASE_URL": model.base_url,
            "ALTO_SESSION_BACKEND": "agentcore",
            "ALTO_AGENTCORE_REGION": agentcore.region,
            "ALTO_AGENTCORE_ENDPOINT_URL": agentcore.endpoint_url,
            "AWS_ACCESS_KEY_ID": credentials.access_key,
            "AWS_SECRET_ACCESS_KEY": credentials.secret_key,
            "AWS_SESSION_TOKEN": credentials.token or "",
            "AWS_EC2_METADATA_DISABLED": "true",
        }
        with alto_serve(data_dir, env=env) as server:
            yield AgentCoreServer(server=server, agentcore=agentcore, key=key)


def test_two_runs_in_an_agentcore_session_share_the_live_page_and_close_stops_it(
    served: AgentCoreServer, site: FixtureSite
) -> None:
    sdk = served.client()
    fake = served.agentcore
    # GIVEN a session: an AgentCore browser session named after it is READY
    created = sdk.create_browser_session(timeout=30)
    session_id = created.browser_session_id
    assert created.status == "running"
    remote = [s for s in fake.ready_sessions() if s.name == session_id]
    assert len(remote) == 1
    # WHEN run 1 signs in inside it, and run 2 (no url of its own) is submitted while run 1 runs
    first = sdk.run_task(
        prompt=LOGIN, url=site.url(f"/{AGENT_PAGES}/session-login.html"), browser_session_id=session_id
    )
    _wait(lambda: sdk.get_browser_session(session_id).runnable_id == first.run_id, "run 1 to lease it")
    second = sdk.run_task(prompt=CHECK, browser_session_id=session_id)
    assert sdk.get_run(second.run_id).status == "queued"
    one = _wait(lambda: (r := sdk.get_run(first.run_id)).status in FINAL and r, "run 1 to end")
    two = _wait(lambda: (r := sdk.get_run(second.run_id)).status in FINAL and r, "run 2 to end")
    # THEN run 2 started on the page run 1 left in AgentCore's browser (it gives up on any
    # other page), and the login held after a reload
    assert one.status == "completed", one.failure_reason
    assert two.status == "completed", two.failure_reason
    assert two.output == {"who": "alice"}
    # AND every slice reached the browser over the signed automation stream, and nothing
    # the server sent was refused
    assert remote[0].automation_connections >= 2
    assert fake.refused == []
    # AND the SDK's CDP connection to our endpoint reaches AgentCore's browser too
    idle = _wait(
        lambda: (s := sdk.get_browser_session(session_id)).runnable_id is None and s, "the lease to end"
    )
    assert idle.browser_address is not None
    assert asyncio.run(_title(idle.browser_address, served.key)) == "Portal home"
    # AND the session's page in the viewer links AgentCore's live view, presigned, and it opens
    assert idle.app_url is not None
    link = asyncio.run(_live_view_link(idle.app_url, served.key))
    assert link.startswith(f"{fake.endpoint_url}/browser-streams/") and "X-Amz-Signature=" in link
    shown = httpx.get(link, timeout=10)
    assert shown.status_code == 200 and "Portal home" in shown.text
    # WHEN it is closed
    assert sdk.close_browser_session(session_id) == {"message": "Browser session closed"}
    # THEN the AgentCore session is stopped
    assert fake.sessions[remote[0].session_id].status == "TERMINATED"
    closed = sdk.get_browser_session(session_id)
    assert closed.status == "completed" and closed.browser_address is None


async def _title(address: str, key: str) -> str:
    async with async_playwright() as playwright:
        browser = await playwright.chromium.connect_over_cdp(address, headers={"x-api-key": key})
        page = browser.contexts[0].pages[-1]
        title = await page.title()
        await browser.close()
        return title


async def _live_view_link(app_url: str, key: str) -> str:
    """Sign in to the viewer at the session's page and read its live-view link."""
    async with async_playwright() as playwright:
        browser = await playwright.chromium.launch(executable_path="/usr/bin/chromium")
        try:
            page = await browser.new_page()
            await page.goto(app_url)
            await page.wait_for_url(re.compile(r"/signin\?next="))
            await page.get_by_label("API key").fill(key)
            await page.get_by_role("button", name="Sign in").click()
            await page.wait_for_url(re.compile(re.escape(urlsplit(app_url).path) + "$"))
            link = page.locator("#live-view")
            await link.wait_for()
            assert await link.text_content() == "Watch the browser"
            return await link.get_attribute("href") or ""
        finally:
            await browser.close()
