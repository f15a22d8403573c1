"""A fake of the Amazon Bedrock AgentCore Browser data plane on 127.0.0.1, in front of a local Chromium.

Point boto3's `bedrock-agentcore` client at it (`endpoint_url=fake.endpoint_url`, the fake's
credentials and region). It answers the browser-session calls with the JSON of the botocore
model (`PUT /browsers/{id}/sessions/start`, `GET …/get`, `PUT …/stop`, `POST …/list`), each
SigV4-verified; a session is a Debian Chromium launched for it. The automation stream
(`ws://…/browser-streams/{id}/sessions/{sid}/automation`) checks the SigV4-signed handshake and
then pipes CDP to that Chromium; the live view (`…/live-view`) checks its presigned query and
shows the session's open pages. Anything wrongly signed is answered 403 before it is looked at.

    with FakeAgentCore() as fake:
        client = boto3.client("bedrock-agentcore", endpoint_url=fake.endpoint_url, ...)
        fake.sessions        # every session started, by id: its status and what it was started with
        fake.refused         # the requests refused for their signature: (method, path, why)

A session past its `sessionTimeoutSeconds` is TERMINATED (its Chromium stopped) when next read.
"""

from __future__ import annotations

import asyncio
import hashlib
import html
import json
import re
import secrets
import socket
import threading
import time
import urllib.request
from collections.abc import Awaitable, Callable, MutableMapping
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from types import TracebackType
from typing import Any
from urllib.parse import parse_qs

import uvicorn
from websockets.asyncio.client import connect
from websockets.exceptions import WebSocketException

from altostratus.adapters.browser.config import LaunchConfig
from altostratus.adapters.browser.live_sessions import LiveChromiumSessions
from altostratus.devtools.fake_agentcore.sigv4 import Arrived, FakeCredentials, SignatureError, SigV4Verifier
from altostratus.runtimes.cdp_relay import pipe_websocket

Scope = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[MutableMapping[str, Any]]]
Send = Callable[[MutableMapping[str, Any]], Awaitable[None]]

DEFAULT_BROWSER = "aws.browser.v1"
MAX_TIMEOUT_SECONDS = 28800
_SESSION = re.compile(r"^/browsers/(?P<browser>[^/]+)/sessions/(?P<op>start|get|stop|list)$")
_STREAM = re.compile(
    r"^/browser-streams/(?P<browser>[^/]+)/sessions/(?P<sid>[^/]+)/(?P<kind>automation|live-view)$"
)


class _ApiError(Exception):
    def __init__(self, status: int, kind: str, message: str) -> None:
        super().__init__(message)
        self.status, self.kind, self.message = status, kind, message


@dataclass
class FakeBrowserSession:
    browser_identifier: str
    session_id: str
    name: str | None
    created_at: datetime
    timeout_seconds: int
    view_port: dict[str, int] | None
    client_token: str | None
    status: str = "READY"
    last_updated_at: datetime = field(default_factory=lambda: datetime.now(UTC))
    # Every handshake accepted on the automation stream.
    automation_connections: int = 0


class FakeAgentCore:
    def __init__(
        self,
        *,
        chromium_path: str | None = None,
        region: str = "us-east-1",
        credentials: FakeCredentials | None = None,
        browsers: tuple[str, ...] = (DEFAULT_BROWSER,),
    ) -> None:
        self.region = region
        self.credentials = credentials or FakeCredentials()
        self.verifier = SigV4Verifier(self.credentials, region)
        self.browser_identifiers = set(browsers)
        self.sessions: dict[str, FakeBrowserSession] = {}
        self.refused: list[tuple[str, str, str]] = []
        self._chromium = LiveChromiumSessions(LaunchConfig(executable_path=chromium_path))
        self._lock = threading.Lock()
        self._server: uvicorn.Server | None = None
        self._thread: threading.Thread | None = None
        self.port = 0

    def trust(self, credentials: FakeCredentials) -> None:
        """Accept these credentials from now on (instead of the ones given at creation): those
        of an environment known only once it is up, such as moto's."""
        self.credentials = credentials
        self.verifier = SigV4Verifier(credentials, self.region)

    # -- lifetime -------------------------------------------------------------------------

    @property
    def endpoint_url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self) -> FakeAgentCore:
        listener = socket.create_server(("127.0.0.1", 0))
        self.port = listener.getsockname()[1]
        config = uvicorn.Config(self, log_level="warning", access_log=False, lifespan="off")
        self._server = uvicorn.Server(config)
        self._thread = threading.Thread(
            target=self._server.run, kwargs={"sockets": [listener]}, name="fake-agentcore", daemon=True
        )
        self._thread.start()
        deadline = time.monotonic() + 10
        while not self._server.started:
            if time.monotonic() > deadline or not self._thread.is_alive():
                raise RuntimeError("the fake AgentCore server did not start")
            time.sleep(0.01)
        return self

    def stop(self) -> None:
        if self._server is not None:
            self._server.should_exit = True
        if self._thread is not None:
            self._thread.join(timeout=10)
        self._chromium.close()

    def __enter__(self) -> FakeAgentCore:
        return self.start()

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.stop()

    def ready_sessions(self) -> list[FakeBrowserSession]:
        with self._lock:
            known = list(self.sessions.values())
        return [s for s in known if self._current(s).status == "READY"]

    # -- the data plane -------------------------------------------------------------------

    def _current(self, session: FakeBrowserSession) -> FakeBrowserSession:
        """The session, terminated first if it ran past its own timeout."""
        ends = session.created_at + timedelta(seconds=session.timeout_seconds)
        if session.status == "READY" and datetime.now(UTC) >= ends:
            self._terminate(session)
        return session

    def _terminate(self, session: FakeBrowserSession) -> None:
        session.status = "TERMINATED"
        session.last_updated_at = datetime.now(UTC)
        self._chromium.stop(session.session_id)

    def _streams(self, session: FakeBrowserSession) -> dict[str, Any]:
        where = f"{session.browser_identifier}/sessions/{session.session_id}"
        base = f"127.0.0.1:{self.port}/browser-streams/{where}"
        return {
            "automationStream": {"streamEndpoint": f"ws://{base}/automation", "streamStatus": "ENABLED"},
            "liveViewStream": {"streamEndpoint": f"http://{base}/live-view"},
        }

    def _session(self, browser: str, query: dict[str, list[str]]) -> FakeBrowserSession:
        session_id = (query.get("sessionId") or [""])[0]
        if not session_id:
            raise _ApiError(400, "ValidationException", "sessionId is required")
        with self._lock:
            session = self.sessions.get(session_id)
        if session is None or session.browser_identifier != browser:
            raise _ApiError(404, "ResourceNotFoundException", f"Session {session_id} not found")
        return self._current(session)

    def _start(self, browser: str, body: dict[str, Any]) -> dict[str, Any]:
        timeout = body.get("sessionTimeoutSeconds", 900)
        if not isinstance(timeout, int) or not 1 <= timeout <= MAX_TIMEOUT_SECONDS:
            raise _ApiError(400, "ValidationException", "sessionTimeoutSeconds must be between 1 and 28800")
        token = body.get("clientToken")
        with self._lock:
            again = next((s for s in self.sessions.values() if token and s.client_token == token), None)
        if again is not None:  # the same clientToken is the same request: its session again
            session = again
        else:
            session = FakeBrowserSession(
                browser_identifier=browser,
                session_id=secrets.token_hex(13).upper()[:26],
                name=body.get("name"),
                created_at=datetime.now(UTC),
                timeout_seconds=timeout,
                view_port=body.get("viewPort"),
                client_token=token,
            )
            # The browser is up before the call answers, as AgentCore's READY means.
            self._chromium.endpoint(session.session_id)
            with self._lock:
                self.sessions[session.session_id] = session
        return {
            "browserIdentifier": session.browser_identifier,
            "sessionId": session.session_id,
            "createdAt": _iso(session.created_at),
            "streams": self._streams(session),
        }

    def _get(self, browser: str, query: dict[str, list[str]]) -> dict[str, Any]:
        session = self._session(browser, query)
        answer: dict[str, Any] = {
            "browserIdentifier": session.browser_identifier,
            "sessionId": session.session_id,
            "createdAt": _iso(session.created_at),
            "sessionTimeoutSeconds": session.timeout_seconds,
            "status": session.status,
            "streams": self._streams(session),
            "lastUpdatedAt": _iso(session.last_updated_at),
        }
        if session.name is not None:
            answer["name"] = session.name
        if session.view_port is not None:
            answer["viewPort"] = session.view_port
        return answer

    def _stop(self, browser: str, query: dict[str, list[str]]) -> dict[str, Any]:
        session = self._session(browser, query)
        if session.status == "READY":
            self._terminate(session)
        return {
            "browserIdentifier": session.browser_identifier,
            "sessionId": session.session_id,
            "lastUpdatedAt": _iso(session.last_updated_at),
        }

    def _list(self, browser: str, body: dict[str, Any]) -> dict[str, Any]:
        with self._lock:
            known = [s for s in self.sessions.values() if s.browser_identifier == browser]
        wanted = body.get("status")
        size = int(body.get("maxResults") or 10)
        start = int(body.get("nextToken") or 0)
        chosen = [s for s in map(self._current, known) if wanted is None or s.status == wanted]
        chosen.sort(key=lambda s: s.created_at, reverse=True)
        page = chosen[start : start + size]
        answer: dict[str, Any] = {
            "items": [
                {
                    "browserIdentifier": s.browser_identifier,
                    "sessionId": s.session_id,
                    **({"name": s.name} if s.name is not None else {}),
                    "status": s.status,
                    "createdAt": _iso(s.created_at),
                    "lastUpdatedAt": _iso(s.last_updated_at),
                }
                for s in page
            ]
        }
        if start + size < len(chosen):
            answer["nextToken"] = str(start + size)
        return answer

    # -- ASGI -----------------------------------------------------------------------------

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http":
            await self._http(scope, receive, send)
        elif scope["type"] == "websocket":
            await self._websocket(scope, receive, send)

    def _arrived(self, scope: Scope, body: bytes = b"") -> Arrived:
        headers: dict[str, str] = {}
        for key, value in scope.get("headers", []):
            headers[key.decode("latin-1").lower()] = value.decode("latin-1")
        raw_path = scope.get("raw_path") or scope["path"].encode()
        return Arrived(
            method=scope.get("method", "GET"),
            scheme="https" if scope.get("scheme") in ("https", "wss") else "http",
            path=raw_path.decode("latin-1").split("?", 1)[0],
            query=scope.get("query_string", b"").decode("latin-1"),
            headers=headers,
            body=body,
        )

    def _refuse(self, arrived: Arrived, why: str) -> None:
        with self._lock:
            self.refused.append((arrived.method, arrived.path, why))

    async def _http(self, scope: Scope, receive: Receive, send: Send) -> None:
        body = b""
        while True:
            message = await receive()
            body += message.get("body", b"")
            if not message.get("more_body"):
                break
        arrived = self._arrived(scope, body)
        stream = _STREAM.match(arrived.path)
        if stream is not None and stream.group("kind") == "live-view" and arrived.method == "GET":
            await self._live_view(arrived, stream.group("browser"), stream.group("sid"), send)
            return
        try:
            self.verifier.verify_header(arrived)
        except SignatureError as exc:
            self._refuse(arrived, str(exc))
            await _json(
                send,
                403,
                {"message": "The request signature we calculated does not match"},
                kind="AccessDeniedException",
            )
            return
        match = _SESSION.match(arrived.path)
        expected = {"start": "PUT", "get": "GET", "stop": "PUT", "list": "POST"}
        if match is None or expected[match.group("op")] != arrived.method:
            await _json(send, 404, {"message": "Not found"}, kind="ResourceNotFoundException")
            return
        browser, op = match.group("browser"), match.group("op")
        try:
            if browser not in self.browser_identifiers:
                raise _ApiError(404, "ResourceNotFoundException", f"Browser {browser} not found")
            try:
                data: Any = json.loads(body) if body.strip() else {}
            except ValueError:
                raise _ApiError(400, "ValidationException", "the body is not JSON") from None
            query = parse_qs(arrived.query)
            loop = asyncio.get_running_loop()
            if op == "start":
                answer = await loop.run_in_executor(None, self._start, browser, data)
            elif op == "get":
                answer = await loop.run_in_executor(None, self._get, browser, query)
            elif op == "stop":
                answer = await loop.run_in_executor(None, self._stop, browser, query)
            else:
                answer = await loop.run_in_executor(None, self._list, browser, data)
        except _ApiError as exc:
            await _json(send, exc.status, {"message": exc.message}, kind=exc.kind)
            return
        await _json(send, 200, answer)

    async def _live_view(self, arrived: Arrived, browser: str, session_id: str, send: Send) -> None:
        try:
            self.verifier.verify_query(arrived)
        except SignatureError as exc:
            self._refuse(arrived, str(exc))
            await _text(send, 403, "Forbidden")
            return
        with self._lock:
            session = self.sessions.get(session_id)
        if (
            session is None
            or session.browser_identifier != browser
            or self._current(session).status != "READY"
        ):
            await _text(send, 404, "No such session")
            return
        loop = asyncio.get_running_loop()
        pages = await loop.run_in_executor(None, self._pages, session_id)
        items = "".join(
            f"<li><span class=title>{html.escape(p.get('title', ''))}</span> "
            f"<span class=url>{html.escape(p.get('url', ''))}</span></li>"
            for p in pages
        )
        body = (
            "<!doctype html><title>AgentCore live view (fake)</title>"
            f"<h1>Live view of {html.escape(session_id)}</h1><ul>{items}</ul>"
        )
        await _text(send, 200, body, content_type="text/html; charset=utf-8")

    def _pages(self, session_id: str) -> list[dict[str, str]]:
        endpoint = self._chromium.endpoint(session_id)
        if endpoint is None:
            return []
        port = endpoint.url.split("://", 1)[1].split("/", 1)[0]
        with urllib.request.urlopen(f"http://{port}/json/list", timeout=5) as answer:
            listed: list[dict[str, str]] = json.load(answer)
        return [p for p in listed if p.get("type") == "page"]

    async def _websocket(self, scope: Scope, receive: Receive, send: Send) -> None:
        opening = await receive()
        if opening["type"] != "websocket.connect":
            return
        arrived = self._arrived(scope)
        stream = _STREAM.match(arrived.path)
        try:
            self.verifier.verify_header(arrived)
        except SignatureError as exc:
            self._refuse(arrived, str(exc))
            await send({"type": "websocket.close", "code": 1008})  # answered 403 before the upgrade
            return
        with self._lock:
            session = self.sessions.get(stream.group("sid")) if stream else None
        if (
            stream is None
            or stream.group("kind") != "automation"
            or session is None
            or session.browser_identifier != stream.group("browser")
            or self._current(session).status != "READY"
        ):
            await send({"type": "websocket.close", "code": 1008})
            return
        loop = asyncio.get_running_loop()
        endpoint = await loop.run_in_executor(None, self._chromium.endpoint, session.session_id)
        if endpoint is None:
            await send({"type": "websocket.close", "code": 1011})
            return
        try:
            upstream = await connect(endpoint.url, max_size=None, ping_interval=None)
        except (OSError, WebSocketException):
            await send({"type": "websocket.close", "code": 1011})
            return
        session.automation_connections += 1
        await send({"type": "websocket.accept"})
        await pipe_websocket(upstream, receive, send)


def _iso(at: datetime) -> str:
    return at.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.") + f"{at.microsecond // 1000:03d}Z"


async def _json(send: Send, status: int, body: dict[str, Any], *, kind: str | None = None) -> None:
    payload = json.dumps(body).encode()
    headers = [(b"content-type", b"application/json"), (b"content-length", str(len(payload)).encode())]
    if kind is not None:
        headers.append((b"x-amzn-errortype", kind.encode()))
    headers.append((b"x-amzn-requestid", hashlib.sha1(payload).hexdigest().encode()))
    await send({"type": "http.response.start", "status": status, "headers": headers})
    await send({"type": "http.response.body", "body": payload})


async def _text(
    send: Send, status: int, body: str, *, content_type: str = "text/plain; charset=utf-8"
) -> None:
    payload = body.encode()
    await send(
        {
            "type": "http.response.start",
            "status": status,
            "headers": [
                (b"content-type", content_type.encode()),
                (b"content-length", str(len(payload)).encode()),
            ],
        }
    )
    await send({"type": "http.response.body", "body": payload})
