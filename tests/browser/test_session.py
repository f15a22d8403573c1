"""The session around the actions: checkpoints, crashes, CDP connections, proxies, output."""

from __future__ import annotations

import asyncio
import re
import struct
import subprocess
import tempfile
from pathlib import Path

import pytest

from altostratus.adapters.browser import (
    BrowserCrashedError,
    BrowserDisconnectedError,
    BrowserRuntime,
    BrowserSession,
    Click,
    LaunchConfig,
    ProxyLocationNotConfiguredError,
    ProxySettings,
    SessionConfig,
    TypeText,
    action_schema,
    parse_action,
    resolve_proxy,
)
from altostratus.adapters.browser import config as browser_config
from altostratus.adapters.browser.config import BASE_FLAGS, CHROMIUM, HEADLESS_SHELL, session_config_for_run
from altostratus.security.targets import TargetPolicy
from tests.browser.test_actions import open_page
from tests.browser.test_perception import by_name
from tests.support.fixture_site import FixtureSite
from tests.support.processes import chromium_browsers


def png_size(data: bytes) -> tuple[int, int]:
    assert data[:8] == b"\x89PNG\r\n\x1a\n"
    width, height = struct.unpack(">II", data[16:24])
    return width, height


async def test_state_survives_a_checkpoint_into_a_new_context(
    runtime: BrowserRuntime, session: BrowserSession, site: FixtureSite
) -> None:
    # GIVEN a page that set a cookie and local storage, and a second tab
    snap = await open_page(session, site, "/cookie.html")
    await session.act(Click(element=by_name(snap, "Reject all").id))
    await session.page.evaluate("localStorage.setItem('draft', 'half-written')")
    await session.act(
        Click(element=by_name(await open_page(session, site, "/tabs.html"), "Open help in a new tab").id)
    )
    # WHEN it is exported and restored in a fresh context
    state = await session.export_state()
    restored = await runtime.new_session(state=state)
    try:
        # THEN cookies, storage and tabs (with the active one) come back
        assert [t.url for t in restored.tabs()] == [site.url("/tabs.html"), site.url("/help.html")]
        assert restored.tabs()[1].active
        cookies = {c["name"]: c["value"] for c in await restored.context.cookies()}
        assert cookies["consent"] == "none"
        first = restored.tabs()[0]
        page = next(p for p in restored.context.pages if p.url == first.url)
        assert await page.evaluate("localStorage.getItem('draft')") == "half-written"
    finally:
        await restored.close()


async def test_a_crashed_page_is_reported_as_a_crash(session: BrowserSession, site: FixtureSite) -> None:
    await open_page(session, site, "/index.html")
    with pytest.raises(Exception, match="crash"):
        await session.page.goto("chrome://crash")
    with pytest.raises(BrowserCrashedError, match="crashed"):
        await session.snapshot()
    with pytest.raises(BrowserCrashedError):
        await session.act(Click(element="e1"))


async def test_a_browser_at_a_cdp_address_can_be_driven_and_its_loss_detected(
    browser_loop: object, site: FixtureSite
) -> None:
    # GIVEN a Chromium we did not launch, listening for CDP on a loopback port
    profile = tempfile.mkdtemp(prefix="alto-cdp-test-")
    process = subprocess.Popen(
        [
            LaunchConfig().executable(),
            "--headless",
            "--remote-debugging-port=0",
            f"--user-data-dir={profile}",
            *BASE_FLAGS,
        ],
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        address = ""
        assert process.stderr is not None
        for line in process.stderr:
            found = re.search(r"DevTools listening on (ws://\S+)", line)
            if found:
                address = found.group(1)
                break
        runtime = await BrowserRuntime.start(
            LaunchConfig(browser_address=address), policy=TargetPolicy.parse("", allow_loopback=True)
        )
        session = await runtime.new_session()
        snap = await open_page(session, site, "/controls.html")
        typed = await session.act(TypeText(element=by_name(snap, "Email").id, text="cdp@example.com"))
        assert typed.value_matches
        # WHEN that browser goes away
        gone = asyncio.Event()
        runtime.browser.on("disconnected", lambda _b: gone.set())
        process.kill()
        await asyncio.wait_for(gone.wait(), timeout=10)
        # THEN the session says the connection was lost (not a generic error)
        with pytest.raises(BrowserDisconnectedError, match="connection"):
            await session.snapshot()
        await runtime.close()
    finally:
        process.kill()
        process.wait()


async def test_screenshots_of_the_viewport_and_of_the_page(
    session: BrowserSession, site: FixtureSite
) -> None:
    await open_page(session, site, "/infinite.html")
    assert png_size(await session.screenshot()) == (1280, 720)
    width, height = png_size(await session.screenshot(full_page=True, max_scrolls=2))
    assert width == 1280 and 720 < height <= 3 * 720
    # the view is back where it was
    assert await session.page.evaluate("window.scrollY") == 0


async def test_markdown_keeps_text_and_turns_links_into_references(
    session: BrowserSession, site: FixtureSite
) -> None:
    await open_page(session, site, "/index.html")
    md = await session.markdown()
    assert md.text.startswith("# Fixture site")
    assert "- [Form controls][1]" in md.text
    assert md.links["1"] == site.url("/controls.html")
    assert f"[1]: {site.url('/controls.html')}" in md.with_link_list()


async def test_a_proxy_from_the_run_request_carries_the_traffic(
    runtime: BrowserRuntime, site: FixtureSite
) -> None:
    # The fixture server answers proxy-style requests (absolute URLs) for any host name.
    proxy = resolve_proxy({"url": site.url("/")}, {})
    session = await runtime.new_session(SessionConfig(proxy=proxy))
    try:
        report = await session.goto("http://shop.invalid/controls.html")
        assert report.ok and report.title == "Form controls"
        assert any(r.headers.get("Host") == "shop.invalid" for r in site.requests)
    finally:
        await session.close()


def test_named_proxy_locations_come_from_the_operator_map() -> None:
    configured = {
        "RESIDENTIAL_GB": "http://user:p%40ss@proxy.example:3128",
        "US-CA": "http://ca.example:8080",
    }
    gb = resolve_proxy("residential_gb", configured)
    assert gb == ProxySettings(server="http://proxy.example:3128", username="user", password="p@ss")
    assert resolve_proxy(
        {"country": "US", "subdivision": "CA", "city": "Fresno"}, configured
    ) == ProxySettings(server="http://ca.example:8080")
    assert resolve_proxy("NONE", configured) is None and resolve_proxy(None, configured) is None
    with pytest.raises(ProxyLocationNotConfiguredError, match=r"RESIDENTIAL_JP.*not configured"):
        resolve_proxy("RESIDENTIAL_JP", configured)


def test_actions_are_typed_and_give_tool_schemas() -> None:
    action = parse_action({"type": "type", "element": "e4", "text": "hello", "submit": True})
    assert isinstance(action, TypeText) and action.submit
    schema = action_schema("click")
    assert schema["required"] == ["element"] and "type" not in schema["properties"]
    with pytest.raises(ValueError, match="exactly one"):
        parse_action({"type": "wait", "text": "a", "network_quiet": True})
    with pytest.raises(ValueError):
        parse_action({"type": "click", "element": "button.submit"})


def test_the_lambda_flag_set_is_added_inside_the_image() -> None:
    local = LaunchConfig().args()
    lambda_args = LaunchConfig(lambda_mode=True).args()
    assert "--no-sandbox" in local and "--no-zygote" not in local
    assert {"--no-zygote", "--disable-extensions", "--mute-audio"} <= set(lambda_args)
    assert "--single-process" not in lambda_args
    assert LaunchConfig(lambda_mode=True).temp_root() == Path("/tmp")


async def test_a_headless_browser_is_the_headless_shell_when_it_is_installed(
    monkeypatch: pytest.MonkeyPatch, browser_loop: object
) -> None:
    # The browser a headless runtime launches is the shell (setup installs it).
    before = chromium_browsers()
    runtime = await BrowserRuntime.launch_local()
    try:
        (launched,) = chromium_browsers() - before
        assert Path(f"/proc/{launched}/exe").resolve() == Path(HEADLESS_SHELL)
    finally:
        await runtime.close()
    # A visible window needs the full browser; a path given is used as it is.
    assert LaunchConfig(headless=False).executable() == CHROMIUM
    assert LaunchConfig(executable_path="/opt/chromium").executable() == "/opt/chromium"
    # Without the shell, headless runs fall back to the full browser.
    monkeypatch.setattr(browser_config.os, "access", lambda path, mode: path != HEADLESS_SHELL)
    assert LaunchConfig().executable() == CHROMIUM


def test_a_run_request_becomes_a_session_config() -> None:
    config = session_config_for_run(
        extra_http_headers={"X-Trace": "abc", "X-Dropped": None},
        proxy_location="RESIDENTIAL",
        proxy_locations={"residential": "http://proxy.example:3128"},
    )
    assert config.extra_http_headers == {"X-Trace": "abc"}
    assert config.proxy == ProxySettings(server="http://proxy.example:3128")
    with pytest.raises(ProxyLocationNotConfiguredError):
        session_config_for_run(extra_http_headers=None, proxy_location="RESIDENTIAL_FR", proxy_locations={})
