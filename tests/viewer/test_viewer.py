"""The run viewer in real Chromium against `alto serve` executing runs with the fake model:
sign in, the runs list, a run page that follows its run live, its screenshots, Cancel, Retry
webhook, sign out; labels and landmarks; no console errors; every URL it hands out answers.
Each page is photographed at 1280x720 and 390x844 (kept under the printed artifacts folder)."""

from __future__ import annotations

import asyncio
import json
import re
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlsplit

import httpx
import pytest
from playwright.async_api import BrowserContext, Page

from altostratus.adapters.browser import BrowserRuntime
from tests.agent.scenarios import AGENT_PAGES, FORM
from tests.viewer.conftest import TERMINAL, Viewer

pytestmark = pytest.mark.browser

DESKTOP = {"width": 1280, "height": 720}
PHONE = {"width": 390, "height": 844}
ARTIFACT_LINK = re.compile(r"^/v1/artifacts/([^/]+)/content$")

# Landmarks, names and labels, checked in the page: every form control, button and link has
# an accessible name, every image an alt, every section and nav a label, ids are unique.
A11Y_CHECK = """
() => {
  const problems = [];
  const text = (node) => (node ? node.textContent : "").trim();
  const byIds = (ids) =>
    (ids || "").split(/\\s+/).filter(Boolean)
      .map((id) => text(document.getElementById(id))).join(" ").trim();
  const named = (el, ownText) =>
    (el.getAttribute("aria-label") || "").trim() ||
    byIds(el.getAttribute("aria-labelledby")) ||
    (el.id ? text(document.querySelector(`label[for="${el.id}"]`)) : "") ||
    (ownText ? text(el) : "");
  if (!document.documentElement.lang) problems.push("the page has no lang");
  if (document.querySelectorAll("main").length !== 1) problems.push("not exactly one main");
  if (!document.querySelector("body > header")) problems.push("no banner");
  if (document.querySelectorAll("h1").length !== 1) problems.push("not exactly one h1");
  for (const el of document.querySelectorAll("input:not([type=hidden]), select, textarea")) {
    if (!named(el, false)) problems.push(`unlabelled ${el.tagName} ${el.id || el.name}`);
  }
  for (const el of document.querySelectorAll("button, a[href]")) {
    if (el.closest("[hidden]")) continue;
    if (!named(el, true)) problems.push(`nameless ${el.tagName} ${el.outerHTML.slice(0, 80)}`);
  }
  for (const img of document.querySelectorAll("img")) {
    if (!img.hasAttribute("alt")) problems.push(`img without alt ${img.src.slice(0, 60)}`);
  }
  for (const el of document.querySelectorAll("section, nav, form, dialog")) {
    if (el.tagName === "FORM" && el.method === "dialog") continue;
    if (!named(el, false)) problems.push(`unlabelled ${el.tagName} ${el.id || el.className}`);
  }
  const ids = [...document.querySelectorAll("[id]")].map((el) => el.id);
  const duplicated = ids.filter((id, i) => ids.indexOf(id) !== i);
  if (duplicated.length) problems.push(`duplicate ids ${duplicated}`);
  return problems;
}
"""

HANDED_OUT = """
() => [
  ...[...document.querySelectorAll("a[href]")].map((a) => a.href),
  ...[...document.querySelectorAll("img[src], video[src], script[src]")].map((e) => e.src),
  ...[...document.querySelectorAll("link[href]")].map((l) => l.href),
].filter((u) => u.startsWith("http"))
"""


@dataclass
class Tab:
    context: BrowserContext
    page: Page
    errors: list[str] = field(default_factory=list)


@asynccontextmanager
async def tab(runtime: BrowserRuntime) -> AsyncIterator[Tab]:
    context = await runtime.browser.new_context(viewport=DESKTOP)
    page = await context.new_page()
    opened = Tab(context, page)
    page.on("console", lambda m: opened.errors.append(m.text) if m.type == "error" else None)
    page.on("pageerror", lambda exc: opened.errors.append(str(exc)))
    try:
        yield opened
    finally:
        await context.close()


async def sign_in(page: Page, viewer: Viewer, start: str) -> None:
    """Open `start` signed out: the viewer asks for a key, then returns to `start`."""
    await page.goto(start)
    await page.wait_for_url(re.compile(r"/signin\?next="))
    await page.get_by_label("API key").fill(viewer.key)
    await page.get_by_role("button", name="Sign in").click()
    target = urlsplit(start).path if urlsplit(start).path != "/" else "/runs"
    await page.wait_for_url(re.compile(re.escape(target) + r"$"))


async def photograph(page: Page, viewer: Viewer, name: str) -> None:
    for size in (DESKTOP, PHONE):
        await page.set_viewport_size(size)
        await asyncio.sleep(0.2)
        path = viewer.artifacts_dir / f"{name}-{size['width']}x{size['height']}.png"
        await page.screenshot(path=str(path), full_page=True)
        assert path.stat().st_size > 0
        if size == DESKTOP:  # what a reader sees first, for the README
            await page.screenshot(path=str(path.with_name(f"{name}-first-screen.png")))
        # Readable on both: nothing wider than the viewport but the scrollable tables and code.
        overflow = await page.evaluate(
            "() => document.documentElement.scrollWidth - document.documentElement.clientWidth"
        )
        assert overflow <= 1, (name, size, overflow)
    await page.set_viewport_size(DESKTOP)


async def accessible(page: Page) -> None:
    problems = await page.evaluate(A11Y_CHECK)
    assert problems == [], problems


def fetch_everything(viewer: Viewer, urls: list[str], cookies: dict[str, str]) -> int:
    """Every URL the page hands out answers: pages and assets with the session, artifact links
    with nothing but their signature, byte for byte what the API serves with a key."""
    fetched = 0
    for url in sorted(set(urls)):
        parts = urlsplit(url)
        assert url.startswith(viewer.base_url), url  # nothing from another origin
        found = ARTIFACT_LINK.match(parts.path)
        if found:
            reply = httpx.get(url, timeout=30)
            assert reply.status_code == 200, (url, reply.status_code)
            direct = viewer.api("GET", f"/v1/artifacts/{found.group(1)}/content")
            assert reply.content == direct.content and len(reply.content) > 0
        else:
            reply = httpx.get(url, cookies=cookies, timeout=30, follow_redirects=False)
            assert reply.status_code == 200, (url, reply.status_code)
        fetched += 1
    return fetched


async def session_cookies(context: BrowserContext) -> dict[str, str]:
    return {c["name"]: c["value"] for c in await context.cookies()}


def test_sign_in_lists_the_organizations_runs_with_filters_and_paging(
    viewer: Viewer, runtime: BrowserRuntime, browser_loop: asyncio.AbstractEventLoop
) -> None:
    first = viewer.submit(title="Listed run alpha")
    second = viewer.submit(title="Listed run beta")
    third = viewer.submit(title="Listed run gamma")
    theirs = viewer.submit(title="Listed run of another org", key=viewer.other_key)
    for run in (first, second, third):
        viewer.wait_for(run["run_id"], lambda r: r["status"] in TERMINAL)

    async def scenario() -> None:
        async with tab(runtime) as opened:
            page = opened.page
            await page.goto(viewer.base_url + "/")  # `/` leads to the runs, which ask to sign in
            await page.wait_for_url(re.compile(r"/signin\?next=%2Fruns$|/signin\?next=/runs$"))
            await accessible(page)
            await photograph(page, viewer, "signin")
            await page.get_by_label("API key").fill(viewer.key)
            await page.keyboard.press("Enter")  # the form works from the keyboard
            await page.wait_for_url(re.compile(r"/runs$"))
            rows = page.locator("table.runs tbody tr")
            await rows.first.wait_for()
            listed = await rows.evaluate_all("rows => rows.map(r => r.dataset.runId)")
            assert first["run_id"] in listed and second["run_id"] in listed
            assert theirs["run_id"] not in listed
            row = page.locator(f"tr[data-run-id='{first['run_id']}']")
            cells = [c.strip() for c in await row.locator("td").all_inner_texts()]
            assert cells[0] == viewer.run(first["run_id"])["status"]
            assert "Listed run alpha" in cells[1] and FORM_PROMPT_START in cells[1]
            assert cells[2].startswith("skyvern-"), cells[2]
            assert int(cells[3]) >= 1
            assert re.fullmatch(r"\d+(\.\d)? s|\d+ min \d+ s", cells[4]), cells[4]
            assert re.fullmatch(r"\$\d+\.\d{4}", cells[5]), cells[5]
            assert cells[6].endswith("UTC")
            await accessible(page)
            await photograph(page, viewer, "runs")

            # The key never sits in the page, its storage or a URL; the session cookie is
            # HttpOnly and SameSite=Strict and does not hold the key either.
            html = await page.content()
            storage = await page.evaluate("() => JSON.stringify({...localStorage, ...sessionStorage})")
            assert viewer.key not in html and viewer.key not in storage and viewer.key not in page.url
            cookies = await opened.context.cookies()
            session = next(c for c in cookies if c["name"] == "alto_session")
            assert session["httpOnly"] and session["sameSite"] == "Strict"
            assert all(viewer.key not in c["value"] for c in cookies)
            assert "alto_session" not in await page.evaluate("() => document.cookie")

            # Search: the start of a title.
            await page.get_by_label("Search").fill("Listed run beta")
            await page.get_by_role("button", name="Apply").click()
            await page.wait_for_function(
                "id => [...document.querySelectorAll('table.runs tbody tr')].map(r => r.dataset.runId)"
                ".join() === id",
                arg=second["run_id"],
            )
            # Status: only runs of that status (none of these failed), then those that completed.
            await page.get_by_label("Search").fill("")
            await page.get_by_label("Status").select_option("failed")
            await page.get_by_role("button", name="Apply").click()
            await page.wait_for_function(
                "() => document.querySelectorAll('table.runs tbody tr').length === 0"
                " && !document.querySelector('p.empty').hidden"
            )
            await page.get_by_label("Status").select_option("completed")
            await page.get_by_role("button", name="Apply").click()
            await page.wait_for_function(
                "() => document.querySelectorAll('table.runs tbody tr').length === 3 && [...document"
                ".querySelectorAll('table.runs tbody .badge')].every(b => b.textContent === 'completed')"
            )
            # Paging, one run a page: the pages follow each other without repeating a run.
            await page.goto(viewer.base_url + "/runs?page_size=1")
            await page.locator("table.runs tbody tr").first.wait_for()
            seen = []
            for _ in range(2):
                seen.append(await page.locator("table.runs tbody tr").first.get_attribute("data-run-id"))
                await page.get_by_role("button", name="Next page").click()
                await page.wait_for_function(
                    "prev => document.querySelector('table.runs tbody tr')?.dataset.runId !== prev",
                    arg=seen[-1],
                )
            seen.append(await page.locator("table.runs tbody tr").first.get_attribute("data-run-id"))
            assert len(set(seen)) == 3
            await page.get_by_role("button", name="Previous page").click()
            await page.wait_for_function(
                "id => document.querySelector('table.runs tbody tr')?.dataset.runId === id", arg=seen[1]
            )

            urls = await page.evaluate(HANDED_OUT)
            assert fetch_everything(viewer, urls, await session_cookies(opened.context)) >= 4
            assert opened.errors == []

    browser_loop.run_until_complete(scenario())


FORM_PROMPT_START = "Create an account"


def test_a_running_runs_page_follows_it_to_the_end_with_its_screenshots_and_webhook(
    viewer: Viewer, runtime: BrowserRuntime, browser_loop: asyncio.AbstractEventLoop
) -> None:
    submitted = viewer.submit(title="Watched run", webhook=True)
    run_id = submitted["run_id"]
    assert submitted["app_url"] == f"{viewer.base_url}/runs/{run_id}"

    async def scenario() -> dict[str, Any]:
        async with tab(runtime) as opened:
            page = opened.page
            await sign_in(page, viewer, submitted["app_url"])
            badge = page.locator(".status-line .badge")
            await badge.wait_for()
            assert await badge.text_content() in {"created", "queued", "running"}
            await page.evaluate("() => { window.notReloaded = true; }")
            await page.wait_for_function(
                "() => document.querySelector('.status-line .badge')?.textContent === 'completed'",
                timeout=120_000,
            )
            assert await page.evaluate("() => window.notReloaded === true")  # updated in place
            assert "completed" in (await page.locator("#status-live").text_content() or "")

            # The timeline: steps with their reasoning, actions and effect reports.
            steps = page.locator("#timeline .step")
            assert await steps.count() >= 2
            timeline_text = await page.locator("#timeline").inner_text()
            assert "Reasoning:" in timeline_text and "Effect:" in timeline_text
            assert "Ada Lovelace" in await page.locator("#request").inner_text()
            done = viewer.run(run_id)
            if done["output"] is None:
                assert "No output" in await page.locator("#output").inner_text()
            else:
                shown = json.loads(await page.locator("#output .json").inner_text())
                assert shown == done["output"]
            summary = await page.locator("#summary").inner_text()
            assert "Cost" in summary and "Input tokens" in summary and "Model calls" in summary

            # Every screenshot loads; one enlarges from the keyboard and closes with Escape.
            shots = page.locator("img.shot")
            assert await shots.count() >= 2
            await page.wait_for_function(
                "() => [...document.querySelectorAll('img.shot')].every(i => i.complete)"
            )
            widths = await shots.evaluate_all("imgs => imgs.map(i => i.naturalWidth)")
            assert all(w > 0 for w in widths), widths
            await page.locator("button.thumb").first.focus()
            await page.keyboard.press("Enter")
            zoomed = page.locator("dialog.zoom")
            await zoomed.wait_for(state="visible")
            assert await zoomed.locator("img").evaluate("i => i.complete && i.naturalWidth > 0")
            await page.keyboard.press("Escape")
            await zoomed.wait_for(state="hidden")

            run = viewer.run(run_id)
            videos = page.locator("video#recording")
            if run["recording_url"]:
                # The recording plays: metadata with a duration, and seeking moves it.
                await page.wait_for_function(
                    "() => document.querySelector('video#recording').readyState >= 1", timeout=30_000
                )
                duration = await videos.evaluate("v => v.duration")
                assert duration > 0
                await videos.evaluate("v => { v.currentTime = v.duration / 2; }")
                await page.wait_for_function("() => !document.querySelector('video#recording').seeking")
                assert await videos.evaluate("v => v.currentTime") > 0
            else:
                assert await videos.count() == 0

            # The webhook: its delivery shows, and Retry webhook sends it again.
            viewer.receiver.wait_for(lambda got: any(run_id.encode() in r.body for r in got))
            await page.wait_for_function(
                "() => document.querySelectorAll('#webhook table.deliveries tbody tr').length >= 1",
                timeout=30_000,
            )
            before = len([r for r in viewer.receiver.received if run_id.encode() in r.body])
            await page.get_by_role("button", name="Retry webhook").click()
            await page.wait_for_function(
                "() => /sent again \\(answer 200\\)/.test(document.querySelector('.notice').textContent)"
            )
            assert len([r for r in viewer.receiver.received if run_id.encode() in r.body]) == before + 1
            assert await page.get_by_role("button", name="Cancel run").is_disabled()

            await accessible(page)
            await photograph(page, viewer, "run")
            urls = await page.evaluate(HANDED_OUT)
            artifact_links = [u for u in urls if ARTIFACT_LINK.match(urlsplit(u).path)]
            assert len(artifact_links) >= 2
            assert fetch_everything(viewer, urls, await session_cookies(opened.context)) >= 5
            assert opened.errors == []
            return run

    run = browser_loop.run_until_complete(scenario())
    assert run["status"] == "completed"


def test_cancel_stops_a_running_run_from_its_page(
    viewer: Viewer, runtime: BrowserRuntime, browser_loop: asyncio.AbstractEventLoop
) -> None:
    submitted = viewer.submit(title="Run to cancel")
    run_id = submitted["run_id"]

    async def scenario() -> None:
        async with tab(runtime) as opened:
            page = opened.page
            await sign_in(page, viewer, submitted["app_url"])
            viewer.wait_for(run_id, lambda r: r["status"] == "running" or r["status"] in TERMINAL)
            cancel = page.get_by_role("button", name="Cancel run")
            await page.wait_for_function(
                "() => document.querySelector('.status-line .badge')?.textContent === 'running'"
            )
            await cancel.click()
            await page.wait_for_function(
                "() => document.querySelector('.status-line .badge')?.textContent === 'canceled'",
                timeout=60_000,
            )
            assert await page.get_by_role("button", name="Cancel run").is_disabled()
            assert opened.errors == []

    browser_loop.run_until_complete(scenario())
    assert viewer.run(run_id)["status"] == "canceled"


def test_sign_out_clears_the_session_and_the_cookie_opens_nothing_else(
    viewer: Viewer, runtime: BrowserRuntime, browser_loop: asyncio.AbstractEventLoop
) -> None:
    async def scenario() -> None:
        async with tab(runtime) as opened:
            page, context = opened.page, opened.context
            await sign_in(page, viewer, viewer.base_url + "/runs")
            # The session opens the viewer's own calls only: the API proper still wants a key.
            api = await context.request.get(viewer.base_url + "/v1/runs")
            assert api.status == 403
            # Without the CSRF header, the cookie alone does not authorize a viewer call either.
            bare = await context.request.get(viewer.base_url + "/viewer/api/runs")
            assert bare.status == 403
            await page.get_by_role("button", name="Sign out").click()
            await page.wait_for_url(re.compile(r"/signin$"))
            assert "alto_session" not in await session_cookies(context)
            await page.goto(viewer.base_url + "/runs")
            await page.wait_for_url(re.compile(r"/signin\?next="))
            assert opened.errors == []

    browser_loop.run_until_complete(scenario())


def test_a_sessions_app_url_shows_its_runs_and_its_latest_screenshot(
    viewer: Viewer, runtime: BrowserRuntime, browser_loop: asyncio.AbstractEventLoop
) -> None:
    created = viewer.api("POST", "/v1/browser_sessions", json={"timeout": 30})
    assert created.status_code == 200, created.text
    session = created.json()
    session_id = session["browser_session_id"]
    assert session["app_url"] == f"{viewer.base_url}/browser-session/{session_id}"
    theirs = viewer.api("POST", "/v1/browser_sessions", key=viewer.other_key).json()
    # Two runs in the session: the second waits for the first, then both complete.
    request = {
        "prompt": FORM.prompt,
        "url": viewer.site.url(f"/{AGENT_PAGES}/{FORM.start}"),
        "browser_session_id": session_id,
    }
    first = viewer.api("POST", "/v1/run/tasks", json={**request, "title": "Session run one"}).json()
    second = viewer.api("POST", "/v1/run/tasks", json={**request, "title": "Session run two"}).json()
    for run in (first, second):
        done = viewer.wait_for(run["run_id"], lambda r: r["status"] in TERMINAL)
        assert done["status"] == "completed", done["failure_reason"]
    newest = viewer.run(second["run_id"])
    shot = ARTIFACT_LINK.match(urlsplit(newest["screenshot_urls"][0]).path)
    assert shot is not None

    async def scenario() -> list[str]:
        async with tab(runtime) as opened:
            page = opened.page
            # Signed out, the session page asks for a key and comes back.
            await sign_in(page, viewer, session["app_url"])
            rows = page.locator("#session-runs tbody tr")
            await page.wait_for_function(
                "() => document.querySelectorAll('#session-runs tbody tr').length === 2", timeout=30_000
            )
            ids = await rows.evaluate_all("rows => rows.map(r => r.dataset.runId)")
            assert ids == [second["run_id"], first["run_id"]]  # newest first
            hrefs = await page.locator("#session-runs tbody a").evaluate_all(
                "links => links.map(a => a.href)"
            )
            assert hrefs == [f"{viewer.base_url}/runs/{run_id}" for run_id in ids]
            assert "running" in (await page.locator(".status-line .badge").text_content() or "")
            # The latest screenshot is the newest run's newest one, and it loads.
            image = page.locator("#latest-screenshot")
            await image.wait_for()
            await page.wait_for_function(
                "() => { const i = document.getElementById('latest-screenshot'); "
                "return i.complete && i.naturalWidth > 0; }"
            )
            assert await image.get_attribute("data-artifact-id") == shot.group(1)
            recordings = page.locator("#recordings a.recording")
            expected = sum(1 for r in (first, second) if viewer.run(r["run_id"])["recording_url"])
            assert await recordings.count() == expected
            await accessible(page)
            await photograph(page, viewer, "session")
            urls = await page.evaluate(HANDED_OUT)
            src = await image.evaluate("i => i.src")
            assert fetch_everything(viewer, urls, await session_cookies(opened.context)) >= 4
            # Each run links to its own page.
            await page.locator("#session-runs tbody a").first.click()
            await page.wait_for_url(re.compile(re.escape(f"/runs/{second['run_id']}") + "$"))
            await page.locator(".status-line .badge").wait_for()
            assert await page.locator("#run-title").text_content() == "Session run two"
            # Another organization's session is not found, even signed in.
            await page.goto(f"{viewer.base_url}/browser-session/{theirs['browser_session_id']}")
            await page.wait_for_function(
                "() => /not found/.test(document.querySelector('.notice').textContent)"
            )
            assert await page.locator("#session-runs").count() == 0
            # Closed, the session page says so.
            closed = viewer.api("POST", f"/v1/browser_sessions/{session_id}/close")
            assert closed.status_code == 200
            await page.goto(session["app_url"])
            await page.wait_for_function(
                "() => document.querySelector('.status-line .badge')?.textContent === 'completed'"
            )
            assert [e for e in opened.errors if "404" not in e] == []
            return [src]

    (src,) = browser_loop.run_until_complete(scenario())
    # The image's link answers the screenshot's bytes with nothing but its signature.
    assert (
        httpx.get(src, timeout=30).content
        == viewer.api("GET", f"/v1/artifacts/{shot.group(1)}/content").content
    )
    viewer.api("POST", f"/v1/browser_sessions/{theirs['browser_session_id']}/close", key=viewer.other_key)
