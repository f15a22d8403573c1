"""The embedded HTTP server: uvicorn in front of the same resolver the `api` Lambda runs.

Each request becomes an API Gateway HTTP API event and is resolved on a worker thread, so a
slow request (a webhook replay waiting on a receiver) does not hold up the others.

Listing runs gives way to everything else. All requests share one interpreter lock, so clients
paging through runs back to back would otherwise slow every get_run several times over: listings
are resolved one at a time on a thread of their own, each starts only once no other request is
being resolved (or after a short wait, so listing slows under load but never stops), and
listing takes at most LISTING_SHARE of the time.
"""

from __future__ import annotations

import asyncio
import base64
import threading
import time
import uuid
from collections.abc import Awaitable, Callable, Iterator, MutableMapping
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from typing import Any

from altostratus.api.gateway_event import http_api_event
from altostratus.api.resolver import AltoResolver, json_response
from altostratus.api.response_headers import secure

Scope = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[MutableMapping[str, Any]]]
Send = Callable[[MutableMapping[str, Any]], Awaitable[None]]


class _LocalLambdaContext:
    function_name = "altostratus-api"
    memory_limit_in_mb = 1024
    invoked_function_arn = "arn:aws:lambda:local:000000000000:function:altostratus-api"
    aws_request_id = "local"

    def get_remaining_time_in_millis(self) -> int:
        return 30_000


# Requests that give way to the others: (method, path ending).
LISTING_ROUTES = (("GET", "/v1/runs"),)
# The longest a listing waits for other requests to finish, and the most of the time listings
# take when clients list back to back.
LISTING_MAX_WAIT_S = 0.1
LISTING_SHARE = 0.5


class ListingTurns:
    """When a listing may start: no other request is being resolved (or it waited
    LISTING_MAX_WAIT_S), and it rested after the last one in proportion to how long that took."""

    def __init__(self) -> None:
        self._others = 0
        self._idle = threading.Condition()
        self._rest_until = 0.0

    @contextmanager
    def other_request(self) -> Iterator[None]:
        with self._idle:
            self._others += 1
        try:
            yield
        finally:
            with self._idle:
                self._others -= 1
                if not self._others:
                    self._idle.notify_all()

    @contextmanager
    def listing(self) -> Iterator[None]:
        rest = self._rest_until - time.monotonic()
        if rest > 0:
            time.sleep(rest)
        with self._idle:
            self._idle.wait_for(lambda: not self._others, timeout=LISTING_MAX_WAIT_S)
        start = time.monotonic()
        try:
            yield
        finally:
            took = time.monotonic() - start
            self._rest_until = time.monotonic() + took * (1 / LISTING_SHARE - 1)


class ApiAsgiApp:
    def __init__(self, resolver: AltoResolver, *, max_body_bytes: int, workers: int = 16) -> None:
        self._resolver = resolver
        self._max_body = max_body_bytes
        self._pool = ThreadPoolExecutor(max_workers=workers, thread_name_prefix="api")
        # One thread: the turns below are taken by one listing at a time.
        self._listing_pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix="api-list")
        self._turns = ListingTurns()
        self._context = _LocalLambdaContext()

    def _resolve(self, event: dict[str, Any]) -> dict[str, Any]:
        with self._turns.other_request():
            return self._resolver.resolve(event, self._context)

    def _resolve_listing(self, event: dict[str, Any]) -> dict[str, Any]:
        with self._turns.listing():
            return self._resolver.resolve(event, self._context)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "lifespan":
            while True:
                message = await receive()
                if message["type"] == "lifespan.startup":
                    await send({"type": "lifespan.startup.complete"})
                elif message["type"] == "lifespan.shutdown":
                    self._pool.shutdown(wait=False, cancel_futures=True)
                    self._listing_pool.shutdown(wait=False, cancel_futures=True)
                    await send({"type": "lifespan.shutdown.complete"})
                    return
        if scope["type"] != "http":
            return
        body = bytearray()
        while True:
            message = await receive()
            body += message.get("body", b"")
            if len(body) > self._max_body:
                # Stop reading: the resolver would refuse it anyway, without buffering it all.
                too_large = {"detail": f"The request body is larger than the {self._max_body}-byte limit."}
                await self._send(send, secure(json_response(413, too_large)))
                return
            if not message.get("more_body", False):
                break
        headers = {k.decode("latin-1"): v.decode("latin-1") for k, v in scope.get("headers", [])}
        event = http_api_event(
            scope["method"],
            scope["path"],
            headers=headers,
            query=scope.get("query_string", b"").decode("latin-1"),
            body=bytes(body) if body else None,
            source_ip=(scope.get("client") or ("127.0.0.1", 0))[0],
            # As API Gateway does: an id per request, for the request's log line.
            request_id=uuid.uuid4().hex,
        )
        loop = asyncio.get_running_loop()
        path = scope["path"].rstrip("/")
        if any(scope["method"] == method and path.endswith(end) for method, end in LISTING_ROUTES):
            response = await loop.run_in_executor(self._listing_pool, self._resolve_listing, event)
        else:
            response = await loop.run_in_executor(self._pool, self._resolve, event)
        await self._send(send, response)

    @staticmethod
    async def _send(send: Send, response: dict[str, Any]) -> None:
        body = response.get("body") or ""
        # Binary answers (images, PDFs, video) come base64-encoded, as API Gateway expects them.
        payload = base64.b64decode(body) if response.get("isBase64Encoded") else body.encode()
        headers = [(k.lower().encode(), str(v).encode()) for k, v in (response.get("headers") or {}).items()]
        headers += [(b"set-cookie", str(c).encode()) for c in response.get("cookies") or []]
        await send(
            {"type": "http.response.start", "status": response.get("statusCode", 200), "headers": headers}
        )
        await send({"type": "http.response.body", "body": payload})
