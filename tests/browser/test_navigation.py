"""Navigation under the address policy, history, tabs, downloads and PDFs."""

from __future__ import annotations

import hashlib
from pathlib import Path

from altostratus.adapters.browser import (
    ActionError,
    Back,
    BrowserRuntime,
    BrowserSession,
    Click,
    CloseTab,
    Forward,
    LaunchConfig,
    Navigate,
    SessionConfig,
    SwitchTab,
)
from altostratus.security.targets import TargetPolicy
from tests.browser.test_actions import open_page
from tests.browser.test_perception import by_name
from tests.support.fixture_site import REPORT_CSV, FixtureSite


async def test_only_http_and_public_or_allowed_addresses_are_opened(
    session: BrowserSession, site: FixtureSite
) -> None:
    for url, words in [
        ("http://169.254.169.254/latest/meta-data/", "link-local"),
        ("http://[::ffff:169.254.169.254]/", "link-local"),
        ("http://10.0.0.8/admin", "private"),
        ("file:///etc/passwd", "may not be opened"),
        ("javascript:alert(1)", "may not be opened"),
    ]:
        report = await session.act(Navigate(url=url))
        assert not report.ok and report.error is ActionError.NAVIGATION_REFUSED, url
        assert words in (report.detail or ""), report.detail
    # loopback is allowed by the embedded server's default policy
    assert (await session.goto(site.url("/index.html"))).ok
    # a bare host means https, as in an address bar (the fixture server speaks plain http)
    bare = await session.act(Navigate(url=site.url("/index.html").removeprefix("http://")))
    assert bare.error is ActionError.NAVIGATION_FAILED and "https://127.0.0.1" in (bare.detail or "")


async def test_a_redirect_to_a_refused_address_is_blocked(session: BrowserSession, site: FixtureSite) -> None:
    direct = await session.goto(site.url("/redirect?to=http://169.254.169.254/latest/meta-data/"))
    assert not direct.ok and direct.error is ActionError.NAVIGATION_REFUSED
    assert "169.254.169.254" in (direct.detail or "")
    # the same through a link the agent clicks
    snap = await open_page(session, site, "/tabs.html")
    report = await session.act(Click(element=by_name(snap, "Instance details").id))
    assert report.blocked_requests and "link-local" in report.blocked_requests[0]
    assert "Blocked a request" in report.summary


async def test_subresources_to_refused_addresses_are_blocked(
    session: BrowserSession, site: FixtureSite
) -> None:
    await open_page(session, site, "/index.html")
    result = await session.page.evaluate(
        "fetch('http://169.254.169.254/latest/meta-data/')"
        ".then(() => 'loaded', (e) => 'failed: ' + e.message)"
    )
    assert result.startswith("failed")
    assert session.runtime.guard.refusals_since(0.0)


async def test_loopback_is_refused_when_the_policy_does_not_allow_it(
    browser_loop: object, site: FixtureSite
) -> None:
    # The AWS default: nothing private, loopback included, unless ALTO_ALLOWED_TARGETS says so.
    runtime = await BrowserRuntime.start(LaunchConfig(), policy=TargetPolicy.parse("", allow_loopback=False))
    try:
        session = await runtime.new_session()
        report = await session.goto(site.url("/index.html"))
        assert not report.ok and "loopback" in (report.detail or "")
        runtime.guard.policy = TargetPolicy.parse("127.0.0.1", allow_loopback=False)
        assert (await session.goto(site.url("/index.html"))).ok
    finally:
        await runtime.close()


async def test_back_and_forward(session: BrowserSession, site: FixtureSite) -> None:
    snap = await open_page(session, site, "/index.html")
    await session.act(Click(element=by_name(snap, "Form controls").id))
    back = await session.act(Back())
    assert back.ok and back.url.endswith("/index.html") and back.url_changed
    forward = await session.act(Forward())
    assert forward.ok and forward.url.endswith("/controls.html")


async def test_a_link_to_a_new_tab_is_followed_and_tabs_can_be_switched(
    session: BrowserSession, site: FixtureSite
) -> None:
    snap = await open_page(session, site, "/tabs.html")
    report = await session.act(Click(element=by_name(snap, "Open help in a new tab").id))
    assert report.new_tab is not None and report.new_tab.url.endswith("/help.html")
    assert report.active_tab == report.new_tab.id and report.page_changed
    help_page = await session.snapshot()
    assert help_page.title == "Help" and "Tabs: t1" in help_page.text
    back = await session.act(SwitchTab(tab="t1"))
    assert back.ok and back.active_tab == "t1" and back.url.endswith("/tabs.html")
    closed = await session.act(CloseTab(tab=report.new_tab.id))
    assert closed.ok and [t.id for t in session.tabs()] == ["t1"]
    missing = await session.act(SwitchTab(tab="t9"))
    assert missing.error is ActionError.TAB_NOT_FOUND


async def test_downloads_are_saved_with_size_and_hash(session: BrowserSession, site: FixtureSite) -> None:
    snap = await open_page(session, site, "/files.html")
    report = await session.act(Click(element=by_name(snap, "Download the report (CSV)").id))
    (download,) = report.downloads
    assert download.state == "finished" and download.filename == "report.csv"
    assert download.size == len(REPORT_CSV) and download.sha256 == hashlib.sha256(REPORT_CSV).hexdigest()
    assert download.path is not None and Path(download.path).read_bytes() == REPORT_CSV
    assert Path(download.path).parent == session.download_dir
    assert "Downloaded report.csv" in report.summary
    assert session.downloads == [download]


async def test_a_pdf_is_downloaded_not_shown_in_a_viewer(session: BrowserSession, site: FixtureSite) -> None:
    snap = await open_page(session, site, "/files.html")
    report = await session.act(Click(element=by_name(snap, "Open the manual (PDF)").id))
    assert report.ok and not report.url_changed
    (download,) = report.downloads
    assert download.filename == "manual.pdf" and download.state == "finished"
    assert Path(download.path or "").read_bytes().startswith(b"%PDF")
    # opening the PDF's address directly downloads it too
    direct = await session.goto(site.url("/files/manual.pdf"))
    assert direct.ok and direct.downloads and direct.downloads[0].duplicate_of == download.id


async def test_extra_headers_go_with_every_request(runtime: BrowserRuntime, site: FixtureSite) -> None:
    session = await runtime.new_session(SessionConfig(extra_http_headers={"X-Run": "run-42"}))
    try:
        await session.goto(site.url("/controls.html"))
        seen = [r for r in site.requests if r.path == "/controls.html"]
        assert seen and seen[-1].headers.get("X-Run") == "run-42"
    finally:
        await session.close()
