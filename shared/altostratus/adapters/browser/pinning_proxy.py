"""The connect-time address check: a forward proxy that every connection of a launched Chromium
goes through.

The network guard decides on each request by resolving its host here, but Chromium resolves the
name again when it connects: a name that answers an allowed address to the check and a refused
one to the browser (DNS rebinding) would get through. So the Chromium we launch has this proxy
as its only way out, loopback included (``--proxy-bypass-list=<-loopback>``; Chromium never
proxies loopback otherwise). For every tunnel (``CONNECT``: https, wss and ws) and every plain
HTTP request (absolute URI) the proxy resolves the host once with the policy's resolver, checks
every address it got (`TargetPolicy.resolve_host`), and connects to exactly one of those, never
asking DNS again. Redirects and subresources are connections too, so they are held to the same
rule.

A refused target gets ``403`` with the reason, an unreachable one ``502`` (``504`` when it does
not answer); each is reported (`report`) to the network guard, which tells the action that
caused it in the same words as its own refusals.

A run with its own upstream proxy gets a listener of its own (`route_through`): its browser
context points there and this proxy goes on through the upstream. The target is still checked
by the policy (as the guard does), but the upstream resolves the name in its own network, so
the address cannot be pinned; what the upstream can reach is its operator's concern. The
upstream's own address is checked and pinned like any target unless the operator configured it
(``ALTO_PROXY_LOCATIONS``): a proxy URL from a run request must not lead into this network.

Bodies are streamed, never buffered. A client connection is kept alive between requests, and
the connection to an origin is reused for the next request to the same checked address.
"""

from __future__ import annotations

import asyncio
import base64
import contextlib
import ipaddress
import logging
import ssl
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Literal
from urllib.parse import unquote, urlsplit

from altostratus.adapters.browser.http_relay import (
    MAX_HEAD,
    BadMessage,
    Headers,
    PeerClosed,
    Request,
    answer,
    host_port,
    parse_request,
    parse_status,
    read_head,
    read_response_head,
    relay_body,
    request_framing,
    request_head,
    response_framing,
    response_head,
    splice,
    split_absolute,
    split_authority,
    wants_keep_alive,
)
from altostratus.domain.proxies import ProxySettings
from altostratus.security.targets import HostCheck, TargetPolicy

__all__ = [
    "PinningProxy",
    "ProxyFailure",
    "ProxyRoute",
    "ProxyTimeouts",
    "Upstream",
]

log = logging.getLogger(__name__)

_DEFAULT_PORTS = {"http": 80, "https": 443, "socks5": 1080}
_SCHEMES: dict[str, Literal["http", "https", "socks5"]] = {
    "http": "http",
    "https": "https",
    "socks5": "socks5",
    "socks5h": "socks5",
}
# The CDP Fetch error reasons that make Chromium say what it would have said connecting itself.
REFUSED = "BlockedByClient"
NAME_NOT_RESOLVED = "NameNotResolved"
CONNECTION_REFUSED = "ConnectionRefused"
TIMED_OUT = "TimedOut"
CONNECTION_FAILED = "ConnectionFailed"
_SOCKS_REPLIES = {
    1: "a general failure",
    2: "the connection is not allowed by its rules",
    3: "the network is unreachable",
    4: "the host is unreachable",
    5: "the connection was refused",
    6: "the time to live expired",
    7: "the command is not supported",
    8: "the address type is not supported",
}


@dataclass(frozen=True)
class ProxyTimeouts:
    """How long the proxy waits: to connect; with no byte moving on an open request or tunnel;
    for the browser's next request on a kept-alive connection."""

    connect_s: float = 15.0
    idle_s: float = 300.0
    keepalive_s: float = 60.0


@dataclass(frozen=True)
class ProxyFailure:
    """A connection the proxy did not make: refused by the policy, or the target unreachable."""

    target: str  # the absolute URL of a plain HTTP request, or host:port of a tunnel
    host: str
    port: int
    reason: str
    net_error: str  # a CDP Fetch error reason (REFUSED, NAME_NOT_RESOLVED, ...)
    at: float  # time.monotonic()

    @property
    def refused(self) -> bool:
        return self.net_error == REFUSED


@dataclass(frozen=True)
class Upstream:
    """A run's own proxy, reached through this one. `trusted`: the operator configured it."""

    scheme: Literal["http", "https", "socks5"]
    host: str
    port: int
    username: str | None = None
    password: str | None = field(default=None, repr=False)
    trusted: bool = False

    @classmethod
    def from_settings(cls, settings: ProxySettings, *, trusted: bool) -> Upstream:
        """Raises ValueError for a scheme the proxy cannot speak (it names the scheme)."""
        text = settings.server if "://" in settings.server else f"http://{settings.server}"
        parts = urlsplit(text)
        scheme = _SCHEMES.get(parts.scheme.lower())
        if scheme is None:
            raise ValueError(
                f"the run's proxy speaks {parts.scheme}://, which is not supported (http, https, socks5)"
            )
        if not parts.hostname:
            raise ValueError("the run's proxy has no host")
        return cls(
            scheme=scheme,
            host=parts.hostname,
            port=parts.port or _DEFAULT_PORTS[scheme],
            username=settings.username or (unquote(parts.username) if parts.username else None),
            password=settings.password or (unquote(parts.password) if parts.password else None),
            trusted=trusted,
        )

    @property
    def label(self) -> str:
        """host:port, for messages (never the credentials)."""
        return host_port(self.host, self.port)

    def authorization(self) -> str | None:
        if self.username is None:
            return None
        token = base64.b64encode(f"{self.username}:{self.password or ''}".encode()).decode("ascii")
        return f"Basic {token}"


class _Failure(Exception):  # noqa: N818 - carries an answer to the browser, not an error of ours
    def __init__(self, status: int, reason: str, net_error: str) -> None:
        super().__init__(reason)
        self.status = status
        self.reason = reason
        self.net_error = net_error


@dataclass
class _Origin:
    """An open connection to an origin (or an upstream proxy), reusable for the next request."""

    key: tuple[str, ...]
    reader: asyncio.StreamReader
    writer: asyncio.StreamWriter

    @property
    def alive(self) -> bool:
        return not self.reader.at_eof() and not self.writer.is_closing()

    def close(self) -> None:
        self.writer.close()


class ProxyRoute:
    """One listener of the proxy: the browser-wide one, or a run's way to its upstream."""

    def __init__(self, upstream: Upstream | None) -> None:
        self.upstream = upstream
        self.port = 0
        self._server: asyncio.Server | None = None
        self._clients: set[asyncio.Task[None]] = set()
        self._on_close: Callable[[ProxyRoute], None] | None = None

    @property
    def server(self) -> str:
        """The proxy setting Chromium is given: ``http://127.0.0.1:<port>``."""
        return f"http://127.0.0.1:{self.port}"

    async def close(self) -> None:
        """Stop listening and drop the connections still open."""
        if self._on_close is not None:
            self._on_close(self)
        if self._server is not None:
            self._server.close()
        for task in list(self._clients):
            task.cancel()
        if self._clients:
            await asyncio.wait(list(self._clients), timeout=5)
        if self._server is not None:
            with contextlib.suppress(Exception):
                await asyncio.wait_for(self._server.wait_closed(), 5)


class PinningProxy:
    """The proxy of one launched browser; `start` it, give Chromium `chromium_args`, `close` it."""

    def __init__(
        self,
        policy: Callable[[], TargetPolicy],
        *,
        report: Callable[[ProxyFailure], None] | None = None,
        timeouts: ProxyTimeouts | None = None,
    ) -> None:
        self._policy = policy
        self._report = report
        self.timeouts = timeouts or ProxyTimeouts()
        self._routes: set[ProxyRoute] = set()
        self._direct: ProxyRoute | None = None
        self._closed = False

    @classmethod
    async def start(
        cls,
        policy: Callable[[], TargetPolicy],
        *,
        report: Callable[[ProxyFailure], None] | None = None,
        timeouts: ProxyTimeouts | None = None,
    ) -> PinningProxy:
        """Listen on 127.0.0.1 (an ephemeral port) for the browser's direct connections."""
        proxy = cls(policy, report=report, timeouts=timeouts)
        proxy._direct = await proxy._listen(None)
        return proxy

    def attach(self, policy: Callable[[], TargetPolicy], report: Callable[[ProxyFailure], None]) -> None:
        """Follow another policy (the guard's, which can be swapped) and report to it."""
        self._policy = policy
        self._report = report

    @property
    def server(self) -> str:
        if self._direct is None:
            raise RuntimeError("the proxy is not started")
        return self._direct.server

    def chromium_args(self) -> list[str]:
        # "<-loopback>" removes Chromium's implicit bypass of localhost and 127.0.0.0/8.
        return [f"--proxy-server={self.server}", "--proxy-bypass-list=<-loopback>"]

    async def route_through(self, upstream: Upstream) -> ProxyRoute:
        """A listener whose connections go on through `upstream` (one run's proxy)."""
        return await self._listen(upstream)

    async def close(self) -> None:
        """Stop listening and drop every open connection."""
        self._closed = True
        for route in list(self._routes):
            await route.close()
        self._routes.clear()

    # -- listening --

    async def _listen(self, upstream: Upstream | None) -> ProxyRoute:
        if self._closed:
            raise RuntimeError("the proxy is closed")
        route = ProxyRoute(upstream)

        async def accept(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
            task = asyncio.current_task()
            if task is not None:
                route._clients.add(task)
            try:
                await self._serve(reader, writer, upstream)
            finally:
                if task is not None:
                    route._clients.discard(task)

        route._server = await asyncio.start_server(accept, "127.0.0.1", 0, limit=MAX_HEAD)
        route.port = int(route._server.sockets[0].getsockname()[1])
        route._on_close = self._routes.discard
        self._routes.add(route)
        return route

    async def _serve(
        self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter, upstream: Upstream | None
    ) -> None:
        origin: _Origin | None = None
        try:
            while True:
                try:
                    async with asyncio.timeout(self.timeouts.keepalive_s):
                        lines = await read_head(reader)
                except TimeoutError:
                    return
                if lines is None:
                    return
                try:
                    request = parse_request(lines)
                except BadMessage as exc:
                    await answer(writer, 400, "Bad Request", str(exc))
                    return
                if request.method.upper() == "CONNECT":
                    if origin is not None:
                        origin.close()
                        origin = None
                    await self._tunnel(request, reader, writer, upstream)
                    return
                keep, origin = await self._forward(request, reader, writer, upstream, origin)
                if not keep:
                    return
        except (PeerClosed, BadMessage, ConnectionError, asyncio.IncompleteReadError, ssl.SSLError):
            return
        except OSError:
            return
        except Exception:
            # One connection's surprise must not go unseen, nor reach the other connections.
            log.exception("the browser's proxy failed on a connection; closing it")
            return
        finally:
            if origin is not None:
                origin.close()
            writer.close()

    # -- decisions and connections --

    def _fail(self, target: str, host: str, port: int, failure: _Failure) -> None:
        record = ProxyFailure(target, host, port, failure.reason, failure.net_error, time.monotonic())
        # The guard logs what it is told; this is for the proxy's own debugging.
        log.debug("proxy did not connect %s: %s", target, failure.reason)
        if self._report is not None:
            self._report(record)

    async def _check(self, host: str) -> HostCheck:
        policy = self._policy()
        return await asyncio.get_running_loop().run_in_executor(None, policy.resolve_host, host)

    async def _allowed_addresses(self, host: str) -> tuple[HostCheck, tuple[str, ...]]:
        """The policy's decision and the addresses a connection may go to (raises _Failure)."""
        check = await self._check(host)
        if check.refusal is not None:
            raise _Failure(403, check.refusal, REFUSED)
        addresses = check.addresses
        if check.listed:
            # The operator allow-listed the name itself: whatever it resolves to is theirs.
            addresses = await self._resolve_listed(check.host)
        if not addresses:
            raise _Failure(502, f"{check.host} does not resolve to an address", NAME_NOT_RESOLVED)
        return check, addresses

    async def _resolve_listed(self, name: str) -> tuple[str, ...]:
        policy = self._policy()
        try:
            answers = await asyncio.get_running_loop().run_in_executor(None, policy.resolver, name)
        except (OSError, UnicodeError):
            return ()
        found: list[str] = []
        for raw in answers:
            with contextlib.suppress(ValueError):
                found.append(str(ipaddress.ip_address(raw.split("%", 1)[0])))
        return tuple(found)

    async def _connect(
        self,
        what: str,
        addresses: tuple[str, ...],
        port: int,
        *,
        tls_name: str | None = None,
    ) -> tuple[asyncio.StreamReader, asyncio.StreamWriter, str]:
        """Connect to the first of `addresses` that answers (literal addresses: no DNS here)."""
        failure = _Failure(502, f"could not connect to {what}", CONNECTION_FAILED)
        context = ssl.create_default_context() if tls_name is not None else None
        for address in addresses:
            try:
                async with asyncio.timeout(self.timeouts.connect_s):
                    reader, writer = await asyncio.open_connection(
                        address, port, limit=MAX_HEAD, ssl=context, server_hostname=tls_name
                    )
                return reader, writer, address
            except TimeoutError:
                failure = _Failure(
                    504, f"{what} did not answer within {self.timeouts.connect_s:g} s", TIMED_OUT
                )
            except ConnectionRefusedError:
                failure = _Failure(502, f"{what} refused the connection", CONNECTION_REFUSED)
            except (OSError, ssl.SSLError) as exc:
                words = getattr(exc, "strerror", None) or str(exc) or type(exc).__name__
                failure = _Failure(502, f"could not connect to {what} ({words})", CONNECTION_FAILED)
        raise failure

    async def _open_direct(self, host: str, port: int) -> _Origin:
        check, addresses = await self._allowed_addresses(host)
        reader, writer, address = await self._connect(host_port(check.host, port), addresses, port)
        return _Origin(("direct", address, str(port)), reader, writer)

    async def _open_upstream(self, upstream: Upstream) -> tuple[asyncio.StreamReader, asyncio.StreamWriter]:
        what = f"the run's proxy {upstream.label}"
        tls_name = upstream.host if upstream.scheme == "https" else None
        if upstream.trusted:
            # The operator's own proxy: connected to as configured, wherever it is.
            try:
                async with asyncio.timeout(self.timeouts.connect_s):
                    return await asyncio.open_connection(
                        upstream.host,
                        upstream.port,
                        limit=MAX_HEAD,
                        ssl=ssl.create_default_context() if tls_name else None,
                        server_hostname=tls_name,
                    )
            except TimeoutError as exc:
                raise _Failure(504, f"{what} did not answer", TIMED_OUT) from exc
            except (OSError, ssl.SSLError) as exc:
                raise _Failure(502, f"could not connect to {what} ({exc})", CONNECTION_FAILED) from exc
        try:
            _, addresses = await self._allowed_addresses(upstream.host)
        except _Failure as exc:
            if exc.net_error == REFUSED:
                raise _Failure(403, f"{what} is refused: {exc.reason}", REFUSED) from exc
            raise
        reader, writer, _ = await self._connect(what, addresses, upstream.port, tls_name=tls_name)
        return reader, writer

    async def _open_tunnel(self, host: str, port: int, upstream: Upstream | None) -> _Origin:
        """A raw connection to host:port: direct (pinned), or through the upstream."""
        if upstream is None:
            return await self._open_direct(host, port)
        check = await self._check(host)
        if check.refusal is not None:
            raise _Failure(403, check.refusal, REFUSED)
        reader, writer = await self._open_upstream(upstream)
        try:
            if upstream.scheme == "socks5":
                await self._socks5(reader, writer, host, port, upstream)
            else:
                await self._http_connect(reader, writer, host, port, upstream)
        except BaseException:
            writer.close()
            raise
        return _Origin(("tunnel", host, str(port)), reader, writer)

    async def _http_connect(
        self,
        reader: asyncio.StreamReader,
        writer: asyncio.StreamWriter,
        host: str,
        port: int,
        upstream: Upstream,
    ) -> None:
        authority = host_port(host, port)
        lines = [f"CONNECT {authority} HTTP/1.1", f"Host: {authority}"]
        auth = upstream.authorization()
        if auth is not None:
            lines.append(f"Proxy-Authorization: {auth}")
        writer.write(("\r\n".join(lines) + "\r\n\r\n").encode("latin-1"))
        try:
            async with asyncio.timeout(self.timeouts.connect_s):
                await writer.drain()
                head = await read_head(reader)
        except TimeoutError as exc:
            raise _Failure(504, f"the run's proxy {upstream.label} did not answer", TIMED_OUT) from exc
        if head is None:
            raise _Failure(502, f"the run's proxy {upstream.label} closed the connection", CONNECTION_FAILED)
        what = f"the run's proxy {upstream.label}"
        try:
            status = parse_status(head[0])[1]
        except BadMessage as exc:
            raise _Failure(502, f"{what} does not answer HTTP", CONNECTION_FAILED) from exc
        if status == 407:
            raise _Failure(502, f"{what} refused its credentials", CONNECTION_FAILED)
        if not 200 <= status < 300:
            raise _Failure(
                502, f"the run's proxy {upstream.label} answered {status} for {authority}", CONNECTION_FAILED
            )

    async def _socks5(
        self,
        reader: asyncio.StreamReader,
        writer: asyncio.StreamWriter,
        host: str,
        port: int,
        upstream: Upstream,
    ) -> None:
        what = f"the run's proxy {upstream.label}"
        try:
            async with asyncio.timeout(self.timeouts.connect_s):
                methods = b"\x00\x02" if upstream.username is not None else b"\x00"
                writer.write(b"\x05" + bytes([len(methods)]) + methods)
                await writer.drain()
                version, method = await reader.readexactly(2)
                if version != 5:
                    raise _Failure(502, f"{what} does not speak SOCKS5", CONNECTION_FAILED)
                if method == 2 and upstream.username is not None:
                    user = upstream.username.encode()[:255]
                    password = (upstream.password or "").encode()[:255]
                    writer.write(b"\x01" + bytes([len(user)]) + user + bytes([len(password)]) + password)
                    await writer.drain()
                    if (await reader.readexactly(2))[1] != 0:
                        raise _Failure(502, f"{what} refused its credentials", CONNECTION_FAILED)
                elif method != 0:
                    raise _Failure(502, f"{what} accepts none of the offered logins", CONNECTION_FAILED)
                writer.write(b"\x05\x01\x00" + _socks_address(host) + port.to_bytes(2, "big"))
                await writer.drain()
                reply = await reader.readexactly(4)
                if reply[1] != 0:
                    words = _SOCKS_REPLIES.get(reply[1], f"error {reply[1]}")
                    raise _Failure(
                        502, f"{what} could not reach {host_port(host, port)}: {words}", CONNECTION_FAILED
                    )
                kind = reply[3]
                size = 4 if kind == 1 else 16 if kind == 4 else (await reader.readexactly(1))[0]
                await reader.readexactly(size + 2)
        except TimeoutError as exc:
            raise _Failure(504, f"{what} did not answer", TIMED_OUT) from exc
        except asyncio.IncompleteReadError as exc:
            raise _Failure(502, f"{what} closed the connection", CONNECTION_FAILED) from exc

    # -- CONNECT --

    async def _tunnel(
        self,
        request: Request,
        reader: asyncio.StreamReader,
        writer: asyncio.StreamWriter,
        upstream: Upstream | None,
    ) -> None:
        try:
            host, port = split_authority(request.target, default_port=None)
        except BadMessage as exc:
            await answer(writer, 400, "Bad Request", str(exc))
            return
        try:
            origin = await self._open_tunnel(host, port, upstream)
        except _Failure as failure:
            self._fail(request.target, host, port, failure)
            await _answer_failure(writer, failure)
            return
        try:
            writer.write(b"HTTP/1.1 200 Connection Established\r\n\r\n")
            await writer.drain()
            await splice(reader, writer, origin.reader, origin.writer, self.timeouts.idle_s)
        finally:
            origin.close()

    # -- plain HTTP --

    async def _forward(
        self,
        request: Request,
        reader: asyncio.StreamReader,
        writer: asyncio.StreamWriter,
        upstream: Upstream | None,
        origin: _Origin | None,
    ) -> tuple[bool, _Origin | None]:
        """One request and its response; (keep the client connection, the origin to reuse)."""
        try:
            host, port, origin_form = split_absolute(request.target)
            body = request_framing(request.headers)
        except BadMessage as exc:
            await answer(writer, 400, "Bad Request", str(exc))
            return False, origin
        via_http_proxy = upstream is not None and upstream.scheme != "socks5"
        line = request.target if via_http_proxy else origin_form
        head = request_head(request, line, upstream.authorization() if via_http_proxy and upstream else None)
        response: tuple[str, int, Headers] | None = None
        failure: _Failure | None = None
        for attempt in (1, 2):
            try:
                origin, reused = await self._origin_for(host, port, upstream, origin)
            except _Failure as refused:
                failure = refused
                break
            try:
                origin.writer.write(head)
                await relay_body(reader, origin.writer, body, self.timeouts.idle_s)
                async with asyncio.timeout(self.timeouts.idle_s):
                    response = await read_response_head(origin.reader, writer)
            except (ConnectionError, PeerClosed, asyncio.IncompleteReadError, TimeoutError, OSError):
                origin.close()
                origin = None
                if reused and attempt == 1 and body is None:
                    continue  # the kept connection had gone stale: try once on a new one
                failure = _Failure(502, f"{host_port(host, port)} closed the connection", CONNECTION_FAILED)
                break
            if response is None:
                failure = _Failure(502, f"{host_port(host, port)} does not answer HTTP", CONNECTION_FAILED)
            break
        if failure is not None or response is None or origin is None:
            failure = failure or _Failure(502, f"could not reach {host_port(host, port)}", CONNECTION_FAILED)
            self._fail(request.target, host, port, failure)
            await _answer_failure(writer, failure)
            if origin is not None:
                origin.close()
            return False, None
        status_line, status, headers = response
        framing = response_framing(request.method, status, headers)
        client_keep = wants_keep_alive(request.version, request.headers) and framing != "close"
        origin_keep = framing != "close" and wants_keep_alive(status_line.split(" ", 1)[0], headers)
        writer.write(response_head(status_line, headers, close=not client_keep))
        try:
            await relay_body(origin.reader, writer, framing, self.timeouts.idle_s)
        except BaseException:
            origin.close()
            raise
        if not origin_keep:
            origin.close()
            return client_keep, None
        return client_keep, origin

    async def _origin_for(
        self, host: str, port: int, upstream: Upstream | None, current: _Origin | None
    ) -> tuple[_Origin, bool]:
        """A connection for the next request (the current one when it goes to the same checked
        address), and whether it was reused."""
        if upstream is None:
            check, addresses = await self._allowed_addresses(host)
            keys = {("direct", a, str(port)) for a in addresses}
            if current is not None and current.key in keys and current.alive:
                return current, True
            if current is not None:
                current.close()
            reader, writer, address = await self._connect(host_port(check.host, port), addresses, port)
            return _Origin(("direct", address, str(port)), reader, writer), False
        check = await self._check(host)
        if check.refusal is not None:
            raise _Failure(403, check.refusal, REFUSED)
        if upstream.scheme == "socks5":
            key: tuple[str, ...] = ("tunnel", host, str(port))
            if current is not None and current.key == key and current.alive:
                return current, True
            if current is not None:
                current.close()
            return await self._open_tunnel(host, port, upstream), False
        # An HTTP proxy takes requests for any host on one connection.
        if current is not None and current.key == ("upstream",) and current.alive:
            return current, True
        if current is not None:
            current.close()
        reader, writer = await self._open_upstream(upstream)
        return _Origin(("upstream",), reader, writer), False


async def _answer_failure(writer: asyncio.StreamWriter, failure: _Failure) -> None:
    if failure.net_error == REFUSED:
        await answer(writer, 403, "Forbidden", f"Refused by the browser's address policy: {failure.reason}")
        return
    phrase = "Gateway Timeout" if failure.status == 504 else "Bad Gateway"
    await answer(writer, failure.status, phrase, f"Could not connect: {failure.reason}")


def _socks_address(host: str) -> bytes:
    try:
        ip = ipaddress.ip_address(host)
    except ValueError:
        name = host.encode("idna")
        if len(name) > 255:
            raise _Failure(502, "the host name is too long for SOCKS5", CONNECTION_FAILED) from None
        return b"\x03" + bytes([len(name)]) + name
    return (b"\x01" if ip.version == 4 else b"\x04") + ip.packed
