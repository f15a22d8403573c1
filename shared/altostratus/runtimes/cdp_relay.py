"""The CDP endpoint of a live browser session: `ws://<host>/v1/browser_sessions/<id>/cdp`.

A caller (Playwright's `connect_over_cdp`, the SDK's `connect_to_cloud_browser_session`)
opens a WebSocket here with its API key in the `x-api-key` handshake header; the relay checks
the key and that the session is the key's organization's and open, then pipes every message
to and from the session's Chromium, which listens on loopback only. A refused handshake is
answered 403 before any upgrade, and says nothing about why.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import re
from collections.abc import Awaitable, Callable, MutableMapping
from typing import Any

from websockets.asyncio.client import ClientConnection, connect
from websockets.exceptions import WebSocketException

from altostratus.ports.keys import KeyStore
from altostratus.ports.session_browsers import CdpEndpoint, SessionBrowsers
from altostratus.ports.session_log import SessionLog

log = logging.getLogger(__name__)
Scope = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[MutableMapping[str, Any]]]
Send = Callable[[MutableMapping[str, Any]], Awaitable[None]]
CDP_PATH = re.compile(r"^/v1/browser_sessions/(?P<id>pbs_[0-9A-Za-z]+)/cdp/?$")


def cdp_path(session_id: str) -> str:
    return f"/v1/browser_sessions/{session_id}/cdp"


def cdp_address(base_url: str, session_id: str) -> str:
    """The WebSocket address of the relay for a server answering at `base_url`."""
    scheme, rest = base_url.rstrip("/").split("://", 1)
    return f"{'wss' if scheme == 'https' else 'ws'}://{rest}{cdp_path(session_id)}"


class CdpRelay:
    def __init__(self, *, keys: KeyStore, sessions: SessionLog, browsers: SessionBrowsers) -> None:
        self._keys = keys
        self._sessions = sessions
        self._browsers = browsers

    def _admit(self, path: str, api_key: str | None) -> CdpEndpoint | None:
        match = CDP_PATH.match(path)
        if match is None or not api_key:
            return None
        principal = self._keys.authenticate(api_key)
        session = self._sessions.get(match.group("id"))
        if principal is None or session is None or session.org_id != principal.org_id:
            return None
        if not session.connectable or not session.is_open_at(self._sessions.now()):
            return None
        return self._browsers.endpoint(session.session_id)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        opening = await receive()
        if opening["type"] != "websocket.connect":
            return
        headers = {k.decode("latin-1").lower(): v.decode("latin-1") for k, v in scope.get("headers", [])}
        loop = asyncio.get_running_loop()
        try:
            endpoint = await loop.run_in_executor(None, self._admit, scope["path"], headers.get("x-api-key"))
        except Exception:
            log.exception("could not check a CDP connection")
            endpoint = None
        if endpoint is None:
            await send({"type": "websocket.close", "code": 1008})
            return
        try:
            upstream = await connect(
                endpoint.url, additional_headers=endpoint.headers or None, max_size=None, ping_interval=None
            )
        except (OSError, WebSocketException):
            log.warning("the browser of a session did not accept a CDP connection", exc_info=True)
            await send({"type": "websocket.close", "code": 1011})
            return
        await send({"type": "websocket.accept"})
        await pipe_websocket(upstream, receive, send)


async def pipe_websocket(upstream: ClientConnection, receive: Receive, send: Send) -> None:
    """Relay frames both ways between an accepted ASGI websocket and `upstream` until either
    side closes, then close both."""

    async def downstream_to_upstream() -> None:
        while True:
            message = await receive()
            if message["type"] == "websocket.disconnect":
                return
            if message.get("text") is not None:
                await upstream.send(message["text"])
            elif message.get("bytes") is not None:
                await upstream.send(message["bytes"])

    async def upstream_to_downstream() -> None:
        async for message in upstream:
            if isinstance(message, str):
                await send({"type": "websocket.send", "text": message})
            else:
                await send({"type": "websocket.send", "bytes": message})

    tasks = [asyncio.ensure_future(downstream_to_upstream()), asyncio.ensure_future(upstream_to_downstream())]
    try:
        await asyncio.wait(tasks, return_when=asyncio.FIRST_COMPLETED)
    finally:
        for task in tasks:
            task.cancel()
        with contextlib.suppress(Exception):
            await upstream.close()
        with contextlib.suppress(Exception):
            await send({"type": "websocket.close", "code": 1000})
        for task in tasks:
            with contextlib.suppress(BaseException):
                await task
