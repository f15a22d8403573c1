"""Serves the fixture site (tests/fixtures/site) on 127.0.0.1, on two ports: two origins.

Usage::

    with FixtureSite() as site:
        site.url("/controls.html")                      # http://127.0.0.1:<A>/controls.html
        site.url("/frame-child.html", origin="other")   # http://127.0.0.1:<B>/...  cross-origin
        site.url("/frame-child.html", origin="cross_site")  # http://localhost:<B>/...  cross-site

"cross_site" uses the host name ``localhost`` for the second port: a different site for
Chromium, so an iframe from there runs out of process (as a real third-party iframe does).
HTML files may say ``{{MAIN_ORIGIN}}``, ``{{OTHER_ORIGIN}}`` and ``{{CROSS_SITE_ORIGIN}}``.

Besides the files, a few endpoints:

- ``/redirect?to=URL``: 302 to URL (the network guard must block hops to refused addresses);
- ``/download/<name>``: a CSV sent as an attachment;
- ``/files/<name>.pdf``: a small PDF sent inline (the browser must download, not view it);
- ``/api/slow?ms=N``: JSON after N milliseconds (the server waits, the test does not);
- ``/api/items?page=N``: ten titles per page, for infinite scroll;
- ``/echo/headers``: the request's headers as JSON.

Every request is recorded in `requests` (origin, path, headers).
"""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Literal
from urllib.parse import parse_qs, unquote, urlsplit

SITE_ROOT = Path(__file__).resolve().parents[1] / "fixtures" / "site"
Origin = Literal["main", "other", "cross_site"]

REPORT_CSV = b"month,revenue\njanuary,100\nfebruary,120\n"
_CONTENT_TYPES = {".html": "text/html; charset=utf-8", ".css": "text/css", ".js": "text/javascript"}


def minimal_pdf(text: str = "Fixture manual") -> bytes:
    """A valid one-page PDF showing `text`."""
    stream = f"BT /F1 18 Tf 72 720 Td ({text}) Tj ET".encode()
    objects = [
        b"<< /Type /Catalog /Pages 2 0 R >>",
        b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
        b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 612 792] /Contents 4 0 R "
        b"/Resources << /Font << /F1 5 0 R >> >> >>",
        b"<< /Length " + str(len(stream)).encode() + b" >>\nstream\n" + stream + b"\nendstream",
        b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>",
    ]
    out = bytearray(b"%PDF-1.4\n")
    offsets = []
    for number, body in enumerate(objects, start=1):
        offsets.append(len(out))
        out += f"{number} 0 obj\n".encode() + body + b"\nendobj\n"
    xref = len(out)
    out += f"xref\n0 {len(objects) + 1}\n0000000000 65535 f \n".encode()
    out += b"".join(f"{o:010d} 00000 n \n".encode() for o in offsets)
    out += f"trailer\n<< /Size {len(objects) + 1} /Root 1 0 R >>\nstartxref\n{xref}\n%%EOF\n".encode()
    return bytes(out)


@dataclass(frozen=True)
class RecordedRequest:
    origin: str
    path: str
    headers: dict[str, str]


@dataclass
class FixtureSite:
    """The fixture site on two loopback ports; use as a context manager (or `start`/`stop`)."""

    root: Path = SITE_ROOT
    requests: list[RecordedRequest] = field(default_factory=list)
    _servers: list[ThreadingHTTPServer] = field(default_factory=list)

    @property
    def main_origin(self) -> str:
        return f"http://127.0.0.1:{self._port(0)}"

    @property
    def other_origin(self) -> str:
        return f"http://127.0.0.1:{self._port(1)}"

    @property
    def cross_site_origin(self) -> str:
        return f"http://localhost:{self._port(1)}"

    def _port(self, index: int) -> int:
        if len(self._servers) < 2:
            raise RuntimeError("the fixture site is not started")
        return int(self._servers[index].server_address[1])

    def url(self, path: str = "/", *, origin: Origin = "main") -> str:
        base = {"main": self.main_origin, "other": self.other_origin, "cross_site": self.cross_site_origin}[
            origin
        ]
        return base + (path if path.startswith("/") else "/" + path)

    def start(self) -> FixtureSite:
        for name in ("main", "other"):
            server = ThreadingHTTPServer(("127.0.0.1", 0), _handler_for(self, name))
            server.daemon_threads = True
            threading.Thread(target=server.serve_forever, name=f"fixture-site-{name}", daemon=True).start()
            self._servers.append(server)
        return self

    def stop(self) -> None:
        for server in self._servers:
            server.shutdown()
            server.server_close()
        self._servers.clear()

    def __enter__(self) -> FixtureSite:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def substitutions(self) -> dict[str, str]:
        return {
            "{{MAIN_ORIGIN}}": self.main_origin,
            "{{OTHER_ORIGIN}}": self.other_origin,
            "{{CROSS_SITE_ORIGIN}}": self.cross_site_origin,
        }


@contextmanager
def serve_fixture_site(root: Path = SITE_ROOT) -> Iterator[FixtureSite]:
    with FixtureSite(root=root) as site:
        yield site


def _handler_for(site: FixtureSite, origin: str) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        server_version = "FixtureSite/1"

        def log_message(self, format: str, *args: object) -> None:
            return

        def _send(
            self, status: int, body: bytes, content_type: str, extra: dict[str, str] | None = None
        ) -> None:
            self.send_response(status)
            self.send_header("Content-Type", content_type)
            self.send_header("Content-Length", str(len(body)))
            self.send_header("Cache-Control", "no-store")
            for name, value in (extra or {}).items():
                self.send_header(name, value)
            self.end_headers()
            if self.command != "HEAD":
                self.wfile.write(body)

        def do_HEAD(self) -> None:
            self.do_GET()

        def do_GET(self) -> None:
            parts = urlsplit(self.path)
            path = unquote(parts.path)
            query = parse_qs(parts.query)
            site.requests.append(RecordedRequest(origin, path, dict(self.headers.items())))
            if path == "/redirect":
                self.send_response(302)
                self.send_header("Location", query.get("to", ["/"])[0])
                self.send_header("Content-Length", "0")
                self.end_headers()
            elif path.startswith("/download/"):
                name = path.rsplit("/", 1)[-1] or "report.csv"
                self._send(
                    200, REPORT_CSV, "text/csv", {"Content-Disposition": f'attachment; filename="{name}"'}
                )
            elif path.startswith("/files/") and path.endswith(".pdf"):
                self._send(200, minimal_pdf(), "application/pdf")
            elif path == "/api/slow":
                time.sleep(int(query.get("ms", ["200"])[0]) / 1000)
                self._send(200, json.dumps({"items": 3}).encode(), "application/json")
            elif path == "/api/items":
                page = int(query.get("page", ["0"])[0])
                items = [f"Story {page * 10 + n + 1}" for n in range(10)]
                self._send(200, json.dumps({"page": page, "items": items}).encode(), "application/json")
            elif path == "/echo/headers":
                self._send(200, json.dumps(dict(self.headers.items())).encode(), "application/json")
            else:
                self._file(path)

        def _file(self, path: str) -> None:
            relative = path.lstrip("/") or "index.html"
            target = (site.root / relative).resolve()
            if site.root.resolve() not in target.parents or not target.is_file():
                self._send(404, b"not found", "text/plain")
                return
            body = target.read_bytes()
            if target.suffix == ".html":
                text = body.decode("utf-8")
                for key, value in site.substitutions().items():
                    text = text.replace(key, value)
                body = text.encode("utf-8")
            self._send(200, body, _CONTENT_TYPES.get(target.suffix, "application/octet-stream"))

    return Handler
