"""A scraped page (or an SVG) with a script in it, opened from its signed link in real
Chromium: the browser downloads it and never runs the script on the API origin.

The payload is first shown to be live (rendered as a page, it retitles the page and calls
back to a listener), so the absence of both afterwards means the script did not run.
"""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

from altostratus.adapters.browser import BrowserRuntime
from tests.support.fixture_site import FixtureSite
from tests.support.http_security import XSS_HTML, SeededServer, seeded_server

pytestmark = pytest.mark.browser
CALLBACK_PATH = "/xss-callback"


@pytest.fixture(scope="module")
def served(tmp_path_factory: pytest.TempPathFactory, site: FixtureSite) -> Iterator[SeededServer]:
    callback = site.url(CALLBACK_PATH).rstrip("/")
    with seeded_server(tmp_path_factory.mktemp("alto-http-xss"), callback=callback) as seeded:
        yield seeded


def _callbacks(site: FixtureSite) -> list[str]:
    return [r.path for r in site.requests if r.path.startswith(CALLBACK_PATH)]


def _signed_link(served: SeededServer, name: str) -> str:
    artifact_id = served.run.artifacts[name].artifact_id
    link = next(
        a.signed_url
        for a in served.client().get_run_artifacts(served.run.run_id)
        if a.artifact_id == artifact_id
    )
    assert link is not None
    return link


@contextmanager
def _plain_server(body: bytes) -> Iterator[str]:
    """A server that sends the bytes as an ordinary inline page, with none of the API's headers."""

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            self.send_response(200)
            self.send_header("content-type", "text/html")
            self.send_header("content-length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, format: str, *args: object) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}/page.html"
    finally:
        server.shutdown()
        server.server_close()


def test_the_payload_runs_when_served_as_a_plain_page(
    runtime: BrowserRuntime, browser_loop: asyncio.AbstractEventLoop, site: FixtureSite
) -> None:
    # The control: the same kind of bytes, served inline by a plain server, do run.
    html = XSS_HTML.replace("{{CALLBACK}}", site.url(CALLBACK_PATH).rstrip("/") + "/control")

    async def scenario(url: str) -> tuple[str, list[str]]:
        context = await runtime.browser.new_context()
        try:
            page = await context.new_page()
            await page.goto(url)
            await page.wait_for_function("document.title === 'pwned'", timeout=5000)
            for _ in range(50):
                if any(p.startswith(f"{CALLBACK_PATH}/control/script") for p in _callbacks(site)):
                    break
                await asyncio.sleep(0.1)
            return await page.title(), _callbacks(site)
        finally:
            await context.close()

    with _plain_server(html.encode()) as url:
        title, called = browser_loop.run_until_complete(scenario(url))
    assert title == "pwned"
    assert any(p.startswith(f"{CALLBACK_PATH}/control/script") for p in called)
    assert f"{CALLBACK_PATH}/control/img" in called


@pytest.mark.parametrize("name", ["html", "svg"])
def test_opening_the_signed_link_downloads_it_and_runs_nothing(
    served: SeededServer,
    runtime: BrowserRuntime,
    browser_loop: asyncio.AbstractEventLoop,
    site: FixtureSite,
    tmp_path: Path,
    name: str,
) -> None:
    link = _signed_link(served, name)
    before = _callbacks(site)

    async def scenario() -> tuple[bytes, str, str]:
        context = await runtime.browser.new_context(accept_downloads=True)
        try:
            page = await context.new_page()
            async with page.expect_download(timeout=10_000) as started:
                try:
                    await page.goto(link)
                except Exception as exc:  # Chromium reports a navigation that became a download
                    assert "Download is starting" in str(exc)
            download = await started.value
            saved = tmp_path / "saved"
            await download.save_as(saved)
            # Also embedded in a page of another origin: a frame and an object download too.
            embedder = await context.new_page()
            await embedder.set_content(f"<iframe src='{link}'></iframe><object data='{link}'></object>")
            await asyncio.sleep(1.0)  # time for any script to have run and called back
            return saved.read_bytes(), await page.title(), page.url
        finally:
            await context.close()

    saved, title, url = browser_loop.run_until_complete(scenario())
    assert saved == served.run.artifacts[name].data  # Chromium got the exact bytes ...
    assert title != "pwned" and url != link  # ... and rendered nothing on the API origin
    assert _callbacks(site) == before
