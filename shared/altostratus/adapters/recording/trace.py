"""A Playwright trace of one slice (`playwright show-trace` opens it), stored as a `trace` artifact.

A trace keeps what the browser was told and what it sent: typed text, DOM snapshots with
field values, request bodies. Before it is stored every text member passes through the run's
secret redaction, so a typed password or a credential header is kept only as its placeholder.
"""

from __future__ import annotations

import asyncio
import hashlib
import io
import json
import logging
import os
import tempfile
import zipfile
from collections.abc import Iterable
from pathlib import Path
from typing import TYPE_CHECKING

from playwright.async_api import Error as PlaywrightError

from altostratus.adapters.browser.session import BrowserSession
from altostratus.domain import events as ev
from altostratus.domain.enums import ArtifactType
from altostratus.domain.view import RunView

if TYPE_CHECKING:
    from altostratus.adapters.recording.recorder import RecordingSink, Redaction

log = logging.getLogger(__name__)
CONTENT_TYPE = "application/zip"
_STOP_TIMEOUT_S = 30.0


def _redact_json_lines(text: str, secrets: Redaction) -> str:
    """A trace's event lines, each redacted as JSON values (text redaction would break quoting)."""
    out = []
    for line in text.split("\n"):
        try:
            parsed = json.loads(line)
        except ValueError:
            out.append(secrets.redact(line))
            continue
        out.append(json.dumps(secrets.redact_any(parsed), ensure_ascii=False, separators=(",", ":")))
    return "\n".join(out)


def redact_archive(data: bytes, secrets: Redaction) -> bytes:
    """The zip with every member that is text redacted (images and other binaries as they are)."""
    out = io.BytesIO()
    source = zipfile.ZipFile(io.BytesIO(data))
    with source, zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as target:
        for info in source.infolist():
            body = source.read(info)
            try:
                text = body.decode("utf-8")
            except UnicodeDecodeError:
                target.writestr(info, body)
                continue
            if info.filename.endswith((".trace", ".network", ".stacks", ".json")):
                text = _redact_json_lines(text, secrets)
            else:
                text = secrets.redact(text)
            target.writestr(info, text.encode("utf-8"))
    return out.getvalue()


class SliceTrace:
    def __init__(
        self, sink: RecordingSink, view: RunView, session: BrowserSession, *, hidden: Iterable[str] = ()
    ) -> None:
        self._sink = sink
        self._view = view
        self._session = session
        self._hidden = tuple(hidden)

    async def start(self) -> bool:
        try:
            await self._session.context.tracing.start(screenshots=True, snapshots=True, sources=False)
        except PlaywrightError:
            log.warning("run %s: no trace of this slice", self._view.run_id, exc_info=True)
            return False
        return True

    async def stop(self) -> None:
        fd, name = tempfile.mkstemp(prefix="alto-trace-", suffix=".zip")
        os.close(fd)
        try:
            await asyncio.wait_for(self._session.context.tracing.stop(path=name), _STOP_TIMEOUT_S)
            with open(name, "rb") as f:
                raw = f.read()
            await asyncio.to_thread(self._store, raw)
        except Exception:  # the trace must never fail the run
            log.warning("run %s: could not store the trace", self._view.run_id, exc_info=True)
        finally:
            Path(name).unlink()

    def _store(self, raw: bytes) -> None:
        redaction = self._sink.redaction
        assert redaction is not None  # a trace is only started with one
        data = redact_archive(raw, redaction(self._view, self._hidden))
        artifact_id = self._sink.ids.new("a")
        key = f"{self._view.org_id}/{self._view.run_id}/{artifact_id}.zip"
        uri = self._sink.artifacts.put(key, data, content_type=CONTENT_TYPE)
        stored = ev.ArtifactStored(
            artifact_id=artifact_id,
            artifact_type=ArtifactType.TRACE,
            uri=uri,
            checksum=hashlib.sha256(data).hexdigest(),
            file_size=len(data),
            content_type=CONTENT_TYPE,
            filename="trace.zip",
        )
        draft = ev.Draft(data=stored, event_id=f"{self._view.run_id}:trace:{artifact_id}")
        self._sink.event_log.append(self._view.run_id, [draft])
