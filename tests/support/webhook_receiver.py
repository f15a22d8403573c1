"""A real HTTP webhook receiver on 127.0.0.1 for tests and benches.

It answers from a script (e.g. 500, 500, then 200 forever), records every request, and checks
signatures the way a user's receiver would: with nothing but the API key and the standard
library (no code shared with the sender).
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import threading
import time
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any


@dataclass(frozen=True)
class Received:
    path: str
    headers: dict[str, str]  # lower-cased names
    body: bytes
    status: int  # what the receiver answered
    at: float  # time.time() when it arrived

    def json(self) -> Any:
        return json.loads(self.body)

    @property
    def webhook_id(self) -> str:
        return self.headers.get("webhook-id", "")

    def skyvern_signature_ok(self, key: str) -> bool:
        expected = hmac.new(key.encode(), self.body, hashlib.sha256).hexdigest()
        return hmac.compare_digest(expected, self.headers.get("x-skyvern-signature", ""))

    def standard_signature_ok(self, key: str) -> bool:
        """Standard Webhooks: v1,<base64 HMAC-SHA256 of id.timestamp.body>, secret = the key."""
        signed = (
            f"{self.headers.get('webhook-id')}.{self.headers.get('webhook-timestamp')}.".encode() + self.body
        )
        expected = "v1," + base64.b64encode(hmac.new(key.encode(), signed, hashlib.sha256).digest()).decode()
        offered = self.headers.get("webhook-signature", "").split()
        return any(hmac.compare_digest(expected, s) for s in offered)


Script = Callable[[int], int]  # request number (1-based) -> status to answer


def statuses(*sequence: int) -> Script:
    """Answer the statuses in order, then the last one forever."""
    return lambda n: sequence[min(n, len(sequence)) - 1]


@dataclass
class WebhookReceiver:
    script: Script = field(default_factory=lambda: statuses(200))
    extra_headers: dict[str, str] = field(default_factory=dict)
    response_body: bytes = b'{"ok":true}'
    # request number (1-based) -> the body to answer; None: `response_body` every time.
    body_script: Callable[[int], bytes] | None = None
    received: list[Received] = field(default_factory=list)
    _cond: threading.Condition = field(default_factory=threading.Condition)
    _server: ThreadingHTTPServer | None = None

    @property
    def url(self) -> str:
        assert self._server is not None
        # `running` binds 127.0.0.1 only.
        return f"http://127.0.0.1:{self._server.server_address[1]}/hooks/alto"

    def _handle(self, handler: BaseHTTPRequestHandler) -> None:
        length = int(handler.headers.get("content-length") or 0)
        body = handler.rfile.read(length)
        with self._cond:
            number = len(self.received) + 1
            status = self.script(number)
            body_out = self.response_body if self.body_script is None else self.body_script(number)
            self.received.append(
                Received(
                    path=handler.path,
                    headers={k.lower(): v for k, v in handler.headers.items()},
                    body=body,
                    status=status,
                    at=time.time(),
                )
            )
            self._cond.notify_all()
        handler.send_response(status)
        for name, value in self.extra_headers.items():
            handler.send_header(name, value)
        handler.send_header("content-type", "application/json")
        handler.send_header("content-length", str(len(body_out)))
        handler.end_headers()
        handler.wfile.write(body_out)

    def wait_for(self, predicate: Callable[[list[Received]], bool], timeout: float = 20.0) -> list[Received]:
        with self._cond:
            if not self._cond.wait_for(lambda: predicate(self.received), timeout):
                raise AssertionError(f"the receiver got {len(self.received)} requests, not what was awaited")
            return list(self.received)

    def delivered(self) -> list[Received]:
        with self._cond:
            return [r for r in self.received if 200 <= r.status < 300]


@contextmanager
def running(
    receiver: WebhookReceiver, *, port: int = 0, keep_alive: bool = False
) -> Iterator[WebhookReceiver]:
    """Serve the receiver on 127.0.0.1. Tests leave keep-alive off: a kept-alive connection
    would outlive the receiver, and a receiver started again on the same port would miss what
    arrives on it."""
    outer = receiver

    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1" if keep_alive else "HTTP/1.0"

        def do_POST(self) -> None:
            outer._handle(self)

        # A client following a 301/302/303 comes back with a GET.
        def do_GET(self) -> None:
            outer._handle(self)

        def log_message(self, format: str, *args: Any) -> None:
            pass

    class Server(ThreadingHTTPServer):
        def handle_error(self, request: Any, client_address: Any) -> None:
            pass  # a sender that gave up (timed out) and closed the connection: nothing to report

    server = Server(("127.0.0.1", port), Handler)
    server.daemon_threads = True
    receiver._server = server
    thread = threading.Thread(
        target=server.serve_forever, kwargs={"poll_interval": 0.02}, name="webhook-receiver", daemon=True
    )
    thread.start()
    try:
        yield receiver
    finally:
        server.shutdown()
        server.server_close()
        thread.join(5)


def ids_delivered_twice(received: Iterable[Received]) -> list[str]:
    seen: dict[str, int] = {}
    for r in received:
        if 200 <= r.status < 300:
            seen[r.webhook_id] = seen.get(r.webhook_id, 0) + 1
    return [i for i, n in seen.items() if n > 1]
