"""HTTP/1.1 as a forward proxy relays it: message heads, body framing, streaming, tunnels.

Heads are parsed into (name, value) pairs and written back with the hop-by-hop headers dropped;
bodies are copied as they arrive in their own framing (a chunked body stays chunked, trailers
included), so nothing is buffered beyond one read. A server's header lines are read as
leniently as Chromium reads them; the browser's must be well formed.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import Awaitable
from dataclasses import dataclass
from typing import Literal

__all__ = [
    "CHUNK",
    "MAX_HEAD",
    "BadMessage",
    "Framing",
    "Headers",
    "PeerClosed",
    "Request",
    "answer",
    "host_port",
    "parse_request",
    "parse_status",
    "read_head",
    "read_response_head",
    "relay_body",
    "request_framing",
    "request_head",
    "response_framing",
    "response_head",
    "splice",
    "split_absolute",
    "split_authority",
    "wants_keep_alive",
]

CHUNK = 64 * 1024
# Chromium's own limit on a response head; its request heads are far smaller.
MAX_HEAD = 256 * 1024
MAX_HEADER_LINES = 2000
# Never forwarded: they describe one hop (the browser to this proxy), not the request.
_HOP_BY_HOP = frozenset(
    {
        "connection",
        "keep-alive",
        "proxy-connection",
        "proxy-authorization",
        "proxy-authenticate",
        "te",
        "upgrade",
    }
)


class BadMessage(Exception):  # noqa: N818 - a peer that does not speak HTTP/1.1 as it should
    """A message this relay cannot frame; the connection is closed (or answered 400)."""


class PeerClosed(Exception):  # noqa: N818 - the other side went away or stayed silent too long
    """The other side closed, or nothing moved for too long."""


Headers = list[tuple[str, str]]


@dataclass
class Request:
    """A request head from the browser."""

    method: str
    target: str
    version: str
    headers: Headers


# -- HTTP/1.1 framing ------------------------------------------------------------------------


async def read_head(reader: asyncio.StreamReader) -> list[str] | None:
    """The lines of a message head (start line first), or None at a clean end of stream."""
    lines: list[str] = []
    size = 0
    while True:
        try:
            raw = await reader.readuntil(b"\n")
        except asyncio.IncompleteReadError as exc:
            if not lines and not exc.partial:
                return None
            raise PeerClosed("the connection closed inside a message head") from exc
        except asyncio.LimitOverrunError as exc:
            raise BadMessage("the message head is too large") from exc
        size += len(raw)
        line = raw.rstrip(b"\r\n").decode("latin-1")
        if not line:
            if not lines:
                continue  # a stray empty line between messages is allowed
            return lines
        if size > MAX_HEAD or len(lines) > MAX_HEADER_LINES:
            raise BadMessage("the message head is too large")
        lines.append(line)


def _parse_headers(lines: list[str], *, lenient: bool = False) -> Headers:
    """Header lines as (name, value). `lenient` reads a server's as Chromium does: a folded
    line continues the previous value and a line without a name is dropped; the browser's
    own must be well formed."""
    headers: Headers = []
    for line in lines:
        name, sep, value = line.partition(":")
        if lenient and line[0] in " \t" and headers:
            headers[-1] = (headers[-1][0], f"{headers[-1][1]} {line.strip()}")
            continue
        if not sep or not name or name != name.strip() or line[0] in " \t":
            if lenient:
                continue
            raise BadMessage(f"a malformed header line: {line[:80]!r}")
        headers.append((name, value.strip()))
    return headers


def parse_request(lines: list[str]) -> Request:
    parts = lines[0].split(" ")
    if len(parts) != 3 or not parts[2].startswith("HTTP/1."):
        raise BadMessage("this proxy speaks HTTP/1.1")
    return Request(parts[0], parts[1], parts[2], _parse_headers(lines[1:]))


def parse_status(line: str) -> tuple[str, int]:
    version, _, rest = line.partition(" ")
    code = rest[:3]
    if not version.startswith("HTTP/") or not code.isdigit():
        raise BadMessage("the server does not answer HTTP")
    return version, int(code)


async def read_response_head(
    origin: asyncio.StreamReader, client: asyncio.StreamWriter
) -> tuple[str, int, Headers] | None:
    """The final response head; interim (1xx) ones go on to the client as they come."""
    while True:
        lines = await read_head(origin)
        if lines is None:
            raise PeerClosed("the server closed the connection without an answer")
        try:
            _, status = parse_status(lines[0])
            headers = _parse_headers(lines[1:], lenient=True)
        except BadMessage:
            return None
        if 100 <= status < 200 and status != 101:
            client.write(response_head(lines[0], headers, close=False))
            continue
        return lines[0], status, headers


def _values(headers: Headers, name: str) -> list[str]:
    return [value for key, value in headers if key.lower() == name]


def _tokens(headers: Headers, *names: str) -> list[str]:
    return [
        token.strip().lower()
        for name in names
        for value in _values(headers, name)
        for token in value.split(",")
        if token.strip()
    ]


Framing = int | Literal["chunked", "close"] | None


def _content_length(headers: Headers) -> int | None:
    values = {v.strip() for value in _values(headers, "content-length") for v in value.split(",")}
    if not values:
        return None
    if len(values) != 1 or not next(iter(values)).isdigit():
        raise BadMessage("conflicting or malformed Content-Length")
    return int(next(iter(values)))


def request_framing(headers: Headers) -> Framing:
    codings = _tokens(headers, "transfer-encoding")
    if codings:
        if codings[-1] != "chunked":
            raise BadMessage("a request body must end with the chunked coding")
        return "chunked"
    length = _content_length(headers)
    return length if length else None


def response_framing(method: str, status: int, headers: Headers) -> Framing:
    if method.upper() == "HEAD" or status in (204, 304) or 100 <= status < 200:
        return None
    codings = _tokens(headers, "transfer-encoding")
    if codings:
        return "chunked" if codings[-1] == "chunked" else "close"
    try:
        length = _content_length(headers)
    except BadMessage:
        return "close"
    return "close" if length is None else length


def wants_keep_alive(version: str, headers: Headers) -> bool:
    tokens = _tokens(headers, "connection", "proxy-connection")
    if "close" in tokens:
        return False
    return version.upper() == "HTTP/1.1" or "keep-alive" in tokens


def _forwardable(headers: Headers) -> Headers:
    named = set(_tokens(headers, "connection"))
    return [(k, v) for k, v in headers if k.lower() not in _HOP_BY_HOP and k.lower() not in named]


def request_head(request: Request, target: str, proxy_authorization: str | None = None) -> bytes:
    """The request as it goes on: `target` in the request line, hop-by-hop headers dropped."""
    lines = [f"{request.method} {target} {request.version}"]
    lines += [f"{k}: {v}" for k, v in _forwardable(request.headers)]
    if proxy_authorization is not None:
        lines.append(f"Proxy-Authorization: {proxy_authorization}")
    return ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1")


def response_head(status_line: str, headers: Headers, *, close: bool) -> bytes:
    lines = [status_line, *(f"{k}: {v}" for k, v in _forwardable(headers))]
    if close:
        lines.append("Connection: close")
    return ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1")


async def answer(writer: asyncio.StreamWriter, status: int, phrase: str, text: str) -> None:
    body = (text.rstrip() + "\n").encode("utf-8")
    head = (
        f"HTTP/1.1 {status} {phrase}\r\nContent-Type: text/plain; charset=utf-8\r\n"
        f"Content-Length: {len(body)}\r\nCache-Control: no-store\r\nConnection: close\r\n\r\n"
    )
    with contextlib.suppress(ConnectionError, OSError):
        writer.write(head.encode("latin-1") + body)
        await writer.drain()


async def _guarded(step: Awaitable[bytes], idle_s: float) -> bytes:
    try:
        async with asyncio.timeout(idle_s):
            return await step
    except TimeoutError as exc:
        raise PeerClosed("no data moved for too long") from exc


async def _drain(writer: asyncio.StreamWriter, idle_s: float) -> None:
    try:
        async with asyncio.timeout(idle_s):
            await writer.drain()
    except TimeoutError as exc:
        raise PeerClosed("the peer stopped reading") from exc


async def relay_body(
    src: asyncio.StreamReader, dst: asyncio.StreamWriter, framing: Framing, idle_s: float
) -> None:
    """Copy one message body as it comes, in its own framing (chunked stays chunked)."""
    if framing is None:
        await _drain(dst, idle_s)
        return
    if framing == "close":
        while data := await _guarded(src.read(CHUNK), idle_s):
            dst.write(data)
            await _drain(dst, idle_s)
        return
    if framing == "chunked":
        await _relay_chunked(src, dst, idle_s)
        return
    await _relay_exactly(src, dst, framing, idle_s)


async def _relay_exactly(
    src: asyncio.StreamReader, dst: asyncio.StreamWriter, size: int, idle_s: float
) -> None:
    left = size
    while left > 0:
        data = await _guarded(src.read(min(left, CHUNK)), idle_s)
        if not data:
            raise PeerClosed("the body ended early")
        dst.write(data)
        left -= len(data)
        await _drain(dst, idle_s)
    await _drain(dst, idle_s)


async def _relay_chunked(src: asyncio.StreamReader, dst: asyncio.StreamWriter, idle_s: float) -> None:
    while True:
        line = await _guarded(src.readuntil(b"\n"), idle_s)
        dst.write(line)
        try:
            size = int(line.split(b";", 1)[0].strip(), 16)
        except ValueError as exc:
            raise BadMessage("a malformed chunk") from exc
        if size == 0:
            while (trailer := await _guarded(src.readuntil(b"\n"), idle_s)).strip():
                dst.write(trailer)
            dst.write(trailer)
            await _drain(dst, idle_s)
            return
        await _relay_exactly(src, dst, size, idle_s)
        dst.write(await _guarded(src.readuntil(b"\n"), idle_s))


async def splice(
    a_reader: asyncio.StreamReader,
    a_writer: asyncio.StreamWriter,
    b_reader: asyncio.StreamReader,
    b_writer: asyncio.StreamWriter,
    idle_s: float,
) -> None:
    """Copy both ways until both ends close, or nothing moved either way for `idle_s`."""
    last = [time.monotonic()]

    async def pump(src: asyncio.StreamReader, dst: asyncio.StreamWriter) -> None:
        while True:
            try:
                async with asyncio.timeout(idle_s):
                    data = await src.read(CHUNK)
            except TimeoutError:
                if time.monotonic() - last[0] >= idle_s:
                    raise PeerClosed("the tunnel was idle") from None
                continue
            if not data:
                if not dst.can_write_eof():
                    raise PeerClosed("one end closed")
                with contextlib.suppress(OSError):
                    dst.write_eof()
                return
            last[0] = time.monotonic()
            dst.write(data)
            await _drain(dst, idle_s)

    pumps = [asyncio.ensure_future(pump(a_reader, b_writer)), asyncio.ensure_future(pump(b_reader, a_writer))]
    try:
        await asyncio.wait(pumps, return_when=asyncio.FIRST_EXCEPTION)
    finally:
        for task in pumps:
            task.cancel()
        await asyncio.gather(*pumps, return_exceptions=True)


# -- addresses -------------------------------------------------------------------------------


def host_port(host: str, port: int) -> str:
    return f"[{host}]:{port}" if ":" in host else f"{host}:{port}"


def split_authority(authority: str, *, default_port: int | None) -> tuple[str, int]:
    if authority.startswith("["):
        end = authority.find("]")
        if end < 0:
            raise BadMessage(f"a malformed address: {authority[:80]!r}")
        host, rest = authority[1:end], authority[end + 1 :]
        if rest and not rest.startswith(":"):
            raise BadMessage(f"a malformed address: {authority[:80]!r}")
        port_text = rest[1:]
    else:
        host, sep, port_text = authority.rpartition(":")
        if not sep:
            host, port_text = authority, ""
    if not host:
        raise BadMessage("the request names no host")
    if not port_text:
        if default_port is None:
            raise BadMessage("a tunnel needs host:port")
        return host, default_port
    if not port_text.isdigit() or not 0 < int(port_text) < 65536:
        raise BadMessage(f"a malformed port: {port_text[:20]!r}")
    return host, int(port_text)


def split_absolute(target: str) -> tuple[str, int, str]:
    """(host, port, origin-form target) of an absolute http:// request target."""
    if target.startswith("/"):
        raise BadMessage("this is the browser's proxy: only proxy requests are served")
    if target[:7].lower() != "http://":
        raise BadMessage("only http:// requests and CONNECT tunnels go through this proxy")
    rest = target[7:]
    ends = [i for i in (rest.find("/"), rest.find("?"), rest.find("#")) if i >= 0]
    end = min(ends) if ends else len(rest)
    authority, tail = rest[:end], rest[end:].split("#", 1)[0]
    authority = authority.rpartition("@")[2]
    host, port = split_authority(authority, default_port=80)
    return host, port, tail if tail.startswith("/") else "/" + tail
