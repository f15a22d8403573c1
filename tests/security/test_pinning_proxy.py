"""The connect-time proxy on its own (no browser): HTTP framing and keep-alive, streaming,
idle tunnels, and the way on through a run's own proxy (HTTP with credentials, SOCKS5)."""

from __future__ import annotations

import asyncio
import base64
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field

import httpx

from altostratus.adapters.browser.config import LaunchConfig, session_config_for_run
from altostratus.adapters.browser.pinning_proxy import PinningProxy, ProxyTimeouts, Upstream
from altostratus.security.targets import TargetPolicy

BIG = bytes(range(256)) * (5 * 1024 * 1024 // 256)  # 5 MiB


def _nowhere(host: str) -> list[str]:
    raise OSError(f"{host} does not resolve here")


LOOPBACK = TargetPolicy.parse("", allow_loopback=True, resolver=_nowhere)

Handler = Callable[[asyncio.StreamReader, asyncio.StreamWriter], Awaitable[None]]


@dataclass
class Listening:
    server: asyncio.Server
    connections: int = 0
    seen: list[bytes] = field(default_factory=list)

    @property
    def port(self) -> int:
        return int(self.server.sockets[0].getsockname()[1])


async def listen(
    handler: Callable[[Listening, asyncio.StreamReader, asyncio.StreamWriter], Awaitable[None]],
) -> Listening:
    box: list[Listening] = []

    async def accept(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        box[0].connections += 1
        try:
            await handler(box[0], reader, writer)
        except (ConnectionError, asyncio.IncompleteReadError):
            pass
        finally:
            writer.close()

    box.append(Listening(await asyncio.start_server(accept, "127.0.0.1", 0)))
    return box[0]


async def origin(state: Listening, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    """A small HTTP/1.1 origin that keeps connections alive, in every body framing."""
    while True:
        head = await reader.readuntil(b"\r\n\r\n")
        state.seen.append(head)
        line, *headers = head.decode("latin-1").split("\r\n")
        method, path, _ = line.split(" ")
        length = next((int(h.split(":")[1]) for h in headers if h.lower().startswith("content-length:")), 0)
        body = await reader.readexactly(length)
        if path == "/length":
            writer.write(b"HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nhello")
        elif path == "/chunked":
            writer.write(
                b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n6\r\n world\r\n0\r\n\r\n"
            )
        elif path == "/echo" and method == "POST":
            writer.write(b"HTTP/1.1 200 OK\r\nContent-Length: %d\r\n\r\n%s" % (len(body), body))
        elif path == "/big":
            writer.write(b"HTTP/1.1 200 OK\r\nContent-Length: %d\r\n\r\n" % len(BIG))
            writer.write(BIG)
        elif path == "/close":
            writer.write(b"HTTP/1.1 200 OK\r\nConnection: close\r\n\r\nuntil the end")
            await writer.drain()
            return
        await writer.drain()


async def echo(state: Listening, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    while data := await reader.read(65536):
        writer.write(data)
        await writer.drain()


async def splice(a: tuple[asyncio.StreamReader, asyncio.StreamWriter], port: int) -> None:
    b_reader, b_writer = await asyncio.open_connection("127.0.0.1", port)

    async def pump(src: asyncio.StreamReader, dst: asyncio.StreamWriter) -> None:
        while data := await src.read(65536):
            dst.write(data)
            await dst.drain()
        dst.close()

    await asyncio.gather(pump(a[0], b_writer), pump(b_reader, a[1]), return_exceptions=True)


async def tunnel_through(
    proxy_port: int, target: str
) -> tuple[bytes, asyncio.StreamReader, asyncio.StreamWriter]:
    reader, writer = await asyncio.open_connection("127.0.0.1", proxy_port)
    writer.write(f"CONNECT {target} HTTP/1.1\r\nHost: {target}\r\n\r\n".encode())
    head = await asyncio.wait_for(reader.readuntil(b"\r\n\r\n"), 10)
    return head, reader, writer


def test_requests_keep_their_framing_and_share_one_origin_connection() -> None:
    async def scenario() -> None:
        server = await listen(origin)
        proxy = await PinningProxy.start(lambda: LOOPBACK)
        base = f"http://127.0.0.1:{server.port}"
        try:
            async with httpx.AsyncClient(proxy=proxy.server) as client:
                assert (await client.get(f"{base}/length")).text == "hello"
                assert (await client.get(f"{base}/chunked")).text == "hello world"
                posted = await client.post(f"{base}/echo", content=b"a body")
                assert posted.text == "a body"
                big = await client.get(f"{base}/big")
                assert big.content == BIG
                # one client connection, one origin connection, for all four
                assert server.connections == 1
                closing = await client.get(f"{base}/close")
                assert closing.text == "until the end" and closing.headers["connection"] == "close"
                assert (await client.get(f"{base}/length")).text == "hello"
                assert server.connections == 2
            # the origin gets the request in origin form, its Host kept, no proxy headers
            first = server.seen[0].decode()
            assert first.startswith("GET /length HTTP/1.1\r\n") and f"Host: 127.0.0.1:{server.port}" in first
            assert "proxy-" not in first.lower()
        finally:
            await proxy.close()
            server.server.close()

    asyncio.run(scenario())


def test_an_idle_tunnel_is_closed() -> None:
    async def scenario() -> None:
        server = await listen(echo)
        proxy = await PinningProxy.start(lambda: LOOPBACK, timeouts=ProxyTimeouts(idle_s=0.3))
        try:
            head, reader, writer = await tunnel_through(
                int(proxy.server.rsplit(":", 1)[1]), f"127.0.0.1:{server.port}"
            )
            assert head.startswith(b"HTTP/1.1 200")
            writer.write(b"ping")
            assert await asyncio.wait_for(reader.readexactly(4), 5) == b"ping"
            started = time.monotonic()
            assert await asyncio.wait_for(reader.read(), 5) == b""
            assert time.monotonic() - started >= 0.25
            writer.close()
        finally:
            await proxy.close()
            server.server.close()

    asyncio.run(scenario())


async def http_upstream(state: Listening, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    """A run's HTTP proxy: records what it is asked, tunnels CONNECTs to the echo server whose
    port is the last entry of `seen`, answers plain requests itself."""
    head = await reader.readuntil(b"\r\n\r\n")
    state.seen.insert(0, head)
    if head.startswith(b"CONNECT "):
        writer.write(b"HTTP/1.1 200 Connection established\r\n\r\n")
        await writer.drain()
        await splice((reader, writer), int(state.seen[-1]))
        return
    writer.write(b"HTTP/1.1 200 OK\r\nContent-Length: 12\r\n\r\nvia upstream")
    await writer.drain()


def test_a_run_proxy_is_reached_through_the_proxy_with_its_credentials() -> None:
    async def scenario() -> None:
        target = await listen(echo)
        upstream = await listen(http_upstream)
        upstream.seen.append(str(target.port).encode())
        proxy = await PinningProxy.start(lambda: LOOPBACK)
        route = await proxy.route_through(
            Upstream(scheme="http", host="127.0.0.1", port=upstream.port, username="user", password="p@ss")
        )
        try:
            head, reader, writer = await tunnel_through(route.port, "shop.example:443")
            assert head.startswith(b"HTTP/1.1 200")
            writer.write(b"through")
            assert await asyncio.wait_for(reader.readexactly(7), 5) == b"through"
            writer.close()
            connect = upstream.seen[0].decode()
            token = base64.b64encode(b"user:p@ss").decode()
            # the name goes to the run's proxy, which resolves it in its own network
            assert connect.startswith("CONNECT shop.example:443 HTTP/1.1")
            assert f"Proxy-Authorization: Basic {token}" in connect
            async with httpx.AsyncClient(proxy=route.server) as client:
                answer = await client.get("http://shop.example/page?q=1")
            assert answer.text == "via upstream"
            forwarded = upstream.seen[0].decode()
            assert forwarded.startswith("GET http://shop.example/page?q=1 HTTP/1.1")
            assert f"Proxy-Authorization: Basic {token}" in forwarded
            # a refused target is refused before the run's proxy hears of it
            head, _, refused = await tunnel_through(route.port, "169.254.169.254:80")
            assert head.startswith(b"HTTP/1.1 403") and upstream.connections == 2
            refused.close()
        finally:
            await route.close()
            await proxy.close()
            upstream.server.close()
            target.server.close()

    asyncio.run(scenario())


def test_a_socks5_run_proxy_gets_the_name_and_the_credentials() -> None:
    async def socks(state: Listening, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        version, count = await reader.readexactly(2)
        methods = await reader.readexactly(count)
        assert version == 5 and 2 in methods
        writer.write(b"\x05\x02")
        _, size = await reader.readexactly(2)
        user = await reader.readexactly(size)
        password = await reader.readexactly((await reader.readexactly(1))[0])
        state.seen.insert(0, user + b":" + password)
        writer.write(b"\x01\x00")
        _, command, _, kind = await reader.readexactly(4)
        assert command == 1 and kind == 3
        name = await reader.readexactly((await reader.readexactly(1))[0])
        port = int.from_bytes(await reader.readexactly(2), "big")
        state.seen.insert(0, name + b":" + str(port).encode())
        writer.write(b"\x05\x00\x00\x01\x7f\x00\x00\x01\x00\x00")
        await writer.drain()
        await splice((reader, writer), int(state.seen[-1]))

    async def scenario() -> None:
        target = await listen(echo)
        upstream = await listen(socks)
        upstream.seen.append(str(target.port).encode())
        proxy = await PinningProxy.start(lambda: LOOPBACK)
        route = await proxy.route_through(
            Upstream(scheme="socks5", host="127.0.0.1", port=upstream.port, username="u", password="pw")
        )
        try:
            head, reader, writer = await tunnel_through(route.port, "shop.example:443")
            assert head.startswith(b"HTTP/1.1 200")
            writer.write(b"socks")
            assert await asyncio.wait_for(reader.readexactly(5), 5) == b"socks"
            writer.close()
            assert upstream.seen[0] == b"shop.example:443" and upstream.seen[1] == b"u:pw"
        finally:
            await route.close()
            await proxy.close()
            upstream.server.close()
            target.server.close()

    asyncio.run(scenario())


def test_the_policy_hands_over_the_addresses_it_checked() -> None:
    answers = {"shop.example": ["93.184.216.34", "2606:2800:220:1::1", "93.184.216.34"]}
    policy = TargetPolicy.parse("intranet", resolver=lambda host: answers[host])
    shop = policy.resolve_host("Shop.Example.")
    assert shop.allowed and shop.resolved and shop.addresses == ("93.184.216.34", "2606:2800:220:1::1")
    # a name the operator listed is allowed without resolving it: the proxy resolves it itself
    intranet = policy.resolve_host("intranet")
    assert intranet.allowed and intranet.listed and not intranet.addresses
    assert policy.resolve_host("0x7f.1").addresses == ("127.0.0.1",)
    assert TargetPolicy.parse("", allow_loopback=True).resolve_host("app.localhost").addresses == (
        "127.0.0.1",
        "::1",
    )


def test_a_proxy_url_from_the_run_request_is_not_the_operators() -> None:
    operators = {"RESIDENTIAL_GB": "http://proxy.example:3128"}
    named = session_config_for_run(
        extra_http_headers=None, proxy_location="RESIDENTIAL_GB", proxy_locations=operators
    )
    given = session_config_for_run(
        extra_http_headers=None, proxy_location={"url": "http://10.0.0.5:3128"}, proxy_locations=operators
    )
    assert named.proxy_trusted and not given.proxy_trusted
    assert given.proxy is not None
    upstream = Upstream.from_settings(given.proxy, trusted=given.proxy_trusted)
    assert upstream == Upstream(scheme="http", host="10.0.0.5", port=3128, trusted=False)


def test_the_proxy_flags_are_the_only_way_out_in_every_launch_profile() -> None:
    ours = ["--proxy-server=http://127.0.0.1:4000", "--proxy-bypass-list=<-loopback>"]
    around = (
        "--no-proxy-server",
        "--proxy-server=http://elsewhere:3128",
        "--proxy-pac-url=http://x/p",
        "--mute-audio",
    )
    for config in (LaunchConfig(extra_args=around), LaunchConfig(extra_args=around, lambda_mode=True)):
        flags = config.args(proxy=ours)
        assert [f for f in flags if "proxy" in f] == ours
        assert "--mute-audio" in flags
