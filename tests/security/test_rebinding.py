"""DNS rebinding: a name that answers an allowed address to the address check and a refused one
when the browser connects must never reach the refused address.

Two local servers share one port: "ALLOWED" on 127.0.0.2 (opened by the policy's allowed
targets) and "SECRET" on 127.0.0.1 (loopback, refused: the AWS default). The policy's resolver
is the test's: ``*.rebind.test`` answers 127.0.0.2 on the first lookup of each name and
127.0.0.1 on every later one; ``*.pinned.test`` always 127.0.0.2; ``*.stable.test`` always
127.0.0.2. Chromium's own resolver is told (``--host-resolver-rules``) that ``*.rebind.test``
and ``*.pinned.test`` are 127.0.0.1 and ``*.stable.test`` 127.0.0.2: what a rebinding name's DNS
says by the time the browser connects. The SECRET server counts every connection it gets.
"""

from __future__ import annotations

import asyncio
import threading
from collections import Counter
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest

from altostratus.adapters.browser import (
    ActionError,
    BrowserRuntime,
    LaunchConfig,
    ProxySettings,
    SessionConfig,
)
from altostratus.security.targets import TargetPolicy
from tests.support.fixture_site import FixtureSite

pytestmark = pytest.mark.browser

ALLOWED_ADDRESS = "127.0.0.2"
SECRET_ADDRESS = "127.0.0.1"
CHROMIUM_DNS = (
    "--host-resolver-rules=MAP *.rebind.test 127.0.0.1, MAP *.pinned.test 127.0.0.1, "
    "MAP *.stable.test 127.0.0.2"
)
PNG = bytes.fromhex(
    "89504e470d0a1a0a0000000d49484452000000010000000108060000001f15c489"
    "0000000d4944415478da63f8cfc0f01f0005000201a5f0e2b40000000049454e44ae426082"
)


class RebindingResolver:
    """The policy's resolver, under the test's control (see the module docstring)."""

    def __init__(self) -> None:
        self.lookups: Counter[str] = Counter()
        self._lock = threading.Lock()

    def __call__(self, host: str) -> Sequence[str]:
        with self._lock:
            self.lookups[host] += 1
            count = self.lookups[host]
        if host.endswith(".rebind.test"):
            return [ALLOWED_ADDRESS] if count == 1 else [SECRET_ADDRESS]
        if host.endswith((".pinned.test", ".stable.test")):
            return [ALLOWED_ADDRESS]
        raise OSError(f"{host} does not resolve")


class _CountingServer(ThreadingHTTPServer):
    daemon_threads = True

    def __init__(self, address: tuple[str, int], handler: type[BaseHTTPRequestHandler]) -> None:
        super().__init__(address, handler)
        self.connections = 0
        self.paths: list[str] = []

    def process_request(self, request: Any, client_address: Any) -> None:
        self.connections += 1
        super().process_request(request, client_address)


def _handler(body: str) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        def log_message(self, format: str, *args: object) -> None:
            return

        def _send(self, status: int, data: bytes, kind: str, extra: dict[str, str] | None = None) -> None:
            self.send_response(status)
            self.send_header("Content-Type", kind)
            self.send_header("Content-Length", str(len(data)))
            # The SECRET answer is readable from any origin: only the address policy keeps it away.
            self.send_header("Access-Control-Allow-Origin", "*")
            for name, value in (extra or {}).items():
                self.send_header(name, value)
            self.end_headers()
            self.wfile.write(data)

        def do_GET(self) -> None:
            assert isinstance(self.server, _CountingServer)
            self.server.paths.append(self.path)
            parts = urlsplit(self.path)
            query = {k: v[0] for k, v in parse_qs(parts.query).items()}
            if parts.path == "/redirect":
                self._send(302, b"", "text/plain", {"Location": query["to"]})
            elif parts.path.endswith(".png"):
                self._send(200, PNG, "image/png")
            elif parts.path == "/subresources":
                page = (
                    f"<title>{body}</title><p>{body}</p><img id='pic' src='{query['img']}'>"
                    f"<script>window.fetched = fetch('{query['fetch']}')"
                    ".then(r => r.text(), e => 'failed: ' + e.message);</script>"
                )
                self._send(200, page.encode(), "text/html; charset=utf-8")
            else:
                self._send(200, f"<title>{body}</title><p>{body}</p>".encode(), "text/html; charset=utf-8")

    return Handler


@dataclass
class Servers:
    port: int
    allowed: _CountingServer
    secret: _CountingServer

    def url(self, host: str, path: str = "/", scheme: str = "http") -> str:
        return f"{scheme}://{host}:{self.port}{path}"


@pytest.fixture(scope="module")
def servers() -> Iterator[Servers]:
    for _ in range(20):
        allowed = _CountingServer((ALLOWED_ADDRESS, 0), _handler("ALLOWED"))
        port = int(allowed.server_address[1])
        try:
            secret = _CountingServer((SECRET_ADDRESS, port), _handler("SECRET"))
        except OSError:
            allowed.server_close()
            continue
        break
    else:  # pragma: no cover - twenty ports taken on 127.0.0.1
        raise RuntimeError("no port free on both 127.0.0.1 and 127.0.0.2")
    for server in (allowed, secret):
        threading.Thread(target=server.serve_forever, daemon=True).start()
    yield Servers(port, allowed, secret)
    for server in (allowed, secret):
        server.shutdown()
        server.server_close()


@pytest.fixture(scope="module")
def resolver() -> RebindingResolver:
    return RebindingResolver()


@pytest.fixture(scope="module")
def guarded(browser_loop: asyncio.AbstractEventLoop, resolver: RebindingResolver) -> Iterator[BrowserRuntime]:
    """Chromium under the AWS default (loopback refused) plus 127.0.0.2, with the test's resolver."""
    policy = TargetPolicy.parse(ALLOWED_ADDRESS, allow_loopback=False, resolver=resolver)
    config = LaunchConfig(extra_args=(CHROMIUM_DNS,))
    runtime = browser_loop.run_until_complete(BrowserRuntime.start(config, policy=policy))
    yield runtime
    browser_loop.run_until_complete(runtime.close())


def _run(loop: asyncio.AbstractEventLoop, work: Any) -> Any:
    return loop.run_until_complete(work)


def test_a_page_whose_name_rebinds_after_the_check_never_loads_from_the_refused_address(
    browser_loop: asyncio.AbstractEventLoop, guarded: BrowserRuntime, servers: Servers
) -> None:
    async def scenario() -> None:
        session = await guarded.new_session()
        try:
            report = await session.goto(servers.url("page.rebind.test"))
            assert not report.ok and report.error is ActionError.NAVIGATION_REFUSED, report
            assert "page.rebind.test resolves to 127.0.0.1, a loopback address" in (report.detail or "")
            assert "SECRET" not in await session.page.content()
        finally:
            await session.close()

    _run(browser_loop, scenario())
    assert servers.secret.connections == 0


def test_the_browser_connects_to_the_address_that_was_checked(
    browser_loop: asyncio.AbstractEventLoop, guarded: BrowserRuntime, servers: Servers
) -> None:
    # Chromium's own DNS says 127.0.0.1 for this name; the check said 127.0.0.2, and that is
    # where the connection goes.
    async def scenario() -> None:
        session = await guarded.new_session()
        try:
            report = await session.goto(servers.url("www.pinned.test"))
            assert report.ok and report.title == "ALLOWED", report
        finally:
            await session.close()

    _run(browser_loop, scenario())
    assert servers.secret.connections == 0


def test_subresources_whose_names_rebind_are_refused(
    browser_loop: asyncio.AbstractEventLoop, guarded: BrowserRuntime, servers: Servers
) -> None:
    image = servers.url("img.rebind.test", "/secret.png")
    data = servers.url("api.rebind.test", "/data")
    page = servers.url("www.stable.test", f"/subresources?img={image}&fetch={data}")

    async def scenario() -> tuple[object, object, list[str]]:
        session = await guarded.new_session()
        try:
            report = await session.goto(page)
            assert report.ok and report.title == "ALLOWED", report
            fetched = await session.page.evaluate("window.fetched")
            width = await session.page.evaluate(
                """() => new Promise(done => {
                    const pic = document.getElementById('pic');
                    if (pic.complete) done(pic.naturalWidth);
                    else pic.onload = pic.onerror = () => done(pic.naturalWidth);
                })"""
            )
            reasons = [r.reason for r in guarded.guard.refusals_since(0.0)]
            return fetched, width, reasons
        finally:
            await session.close()

    fetched, width, reasons = _run(browser_loop, scenario())
    assert "SECRET" not in str(fetched) and width == 0
    assert any("img.rebind.test resolves to 127.0.0.1" in r for r in reasons), reasons
    assert any("api.rebind.test resolves to 127.0.0.1" in r for r in reasons), reasons
    assert servers.secret.connections == 0


def test_a_redirect_to_a_name_that_rebinds_is_refused(
    browser_loop: asyncio.AbstractEventLoop, guarded: BrowserRuntime, servers: Servers
) -> None:
    target = servers.url("hop.rebind.test", "/")

    async def scenario() -> None:
        session = await guarded.new_session()
        try:
            report = await session.goto(servers.url("www.stable.test", f"/redirect?to={target}"))
            assert not report.ok and report.error is ActionError.NAVIGATION_REFUSED, report
            assert "hop.rebind.test resolves to 127.0.0.1" in (report.detail or "")
        finally:
            await session.close()

    _run(browser_loop, scenario())
    assert servers.secret.connections == 0


def test_an_https_tunnel_to_a_refused_address_is_refused(
    browser_loop: asyncio.AbstractEventLoop, guarded: BrowserRuntime, servers: Servers
) -> None:
    async def scenario() -> None:
        session = await guarded.new_session()
        try:
            report = await session.goto(servers.url("tls.rebind.test", scheme="https"))
            assert not report.ok and report.error is ActionError.NAVIGATION_REFUSED, report
            assert "tls.rebind.test resolves to 127.0.0.1" in (report.detail or "")
        finally:
            await session.close()

    _run(browser_loop, scenario())
    assert servers.secret.connections == 0
    # What the browser is answered when it asks for a tunnel to a refused address: a 403 with why.
    assert guarded.proxy is not None
    port = int(guarded.proxy.server.rsplit(":", 1)[1])

    async def ask_for_a_tunnel() -> bytes:
        reader, writer = await asyncio.open_connection("127.0.0.1", port)
        writer.write(f"CONNECT {SECRET_ADDRESS}:{servers.port} HTTP/1.1\r\nHost: x\r\n\r\n".encode())
        answer = await asyncio.wait_for(reader.read(), 10)
        writer.close()
        return answer

    answer = _run(browser_loop, ask_for_a_tunnel())
    assert answer.startswith(b"HTTP/1.1 403 ")
    assert b"127.0.0.1 is a loopback address" in answer
    assert servers.secret.connections == 0


def test_a_run_proxy_at_a_refused_address_is_refused_unless_the_operator_configured_it(
    browser_loop: asyncio.AbstractEventLoop, guarded: BrowserRuntime, site: FixtureSite
) -> None:
    # The fixture server (on 127.0.0.1, refused here) answers proxy-style requests for any host.
    proxy = ProxySettings.from_url(site.url("/"))

    async def scenario() -> None:
        from_request = await guarded.new_session(SessionConfig(proxy=proxy))
        try:
            report = await from_request.goto("http://shop.invalid/controls.html")
            assert not report.ok and report.error is ActionError.NAVIGATION_REFUSED, report
            detail = report.detail or ""
            assert "the run's proxy 127.0.0.1" in detail and "loopback" in detail, detail
        finally:
            await from_request.close()
        operators = await guarded.new_session(SessionConfig(proxy=proxy, proxy_trusted=True))
        try:
            report = await operators.goto("http://shop.invalid/controls.html")
            assert report.ok and report.title == "Form controls", report
        finally:
            await operators.close()

    before = len(site.requests)
    _run(browser_loop, scenario())
    hosts = [r.headers.get("Host") for r in site.requests[before:]]
    assert hosts and all(h == "shop.invalid" for h in hosts)
