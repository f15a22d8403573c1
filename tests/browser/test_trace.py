"""A slice's Playwright trace (when the setting turns it on): a zip in the format the trace viewer
opens, stored as the run's `trace` artifact beside its video, with the run's secrets redacted."""

from __future__ import annotations

import io
import json
import zipfile
from pathlib import Path

import av

from altostratus.adapters.browser import BrowserSession
from altostratus.adapters.file_artifacts import FileArtifactStore
from altostratus.adapters.recording.recorder import RecordingSink, SliceRecording
from altostratus.adapters.recording.settings import RecordingSettings
from altostratus.adapters.sqlite_db import SQLiteDatabase
from altostratus.adapters.sqlite_event_log import SQLiteEventLog
from altostratus.domain.enums import ArtifactType
from altostratus.domain.ids import IdFactory
from altostratus.engine.agent.secrets import Secrets
from altostratus.runtimes.settings import Settings
from tests.support.clock import FakeClock
from tests.support.fixture_site import FixtureSite
from tests.support.runs import created

SECRET = "Hunter2-trace-s3cret"


def test_tracing_is_off_unless_a_setting_turns_it_on() -> None:
    assert Settings().trace is False and RecordingSettings().trace is False
    assert Settings(trace=True).trace is True


async def test_a_slice_trace_opens_as_a_playwright_trace_and_keeps_no_secret(
    session: BrowserSession, site: FixtureSite, tmp_path: Path
) -> None:
    event_log = SQLiteEventLog(SQLiteDatabase(tmp_path / "alto.db"), FakeClock())
    artifacts = FileArtifactStore(
        tmp_path / "artifacts", public_base_url="http://127.0.0.1:1", signing_secret=b"k"
    )
    event_log.append("tsk_trace", [created(url=site.url("/agent/login.html"))])
    view = event_log.get_view("tsk_trace")
    assert view is not None
    sink = RecordingSink(
        artifacts=artifacts,
        event_log=event_log,
        ids=IdFactory(),
        settings=RecordingSettings(trace=True, fps=5),
        redaction=lambda _view, hidden: Secrets({"PASSWORD": SECRET}, hidden=hidden),
    )
    async with SliceRecording(sink, view, session):
        page = session.page
        await page.goto(site.url("/agent/login.html"))
        await page.click("input[name=username]")
        await page.keyboard.type("ada")
        await page.click("input[name=password]")
        await page.keyboard.type(SECRET)  # what the agent does with a {{secret:...}} placeholder
        await page.keyboard.press("Enter")
        await page.wait_for_url("**/members.html*")

    records = {r.artifact_type: r for r in event_log.list_artifacts("tsk_trace")}
    assert set(records) == {ArtifactType.RECORDING, ArtifactType.TRACE}
    trace = records[ArtifactType.TRACE]
    assert trace.content_type == "application/zip" and trace.filename == "trace.zip"
    data = artifacts.get(trace.uri)
    assert trace.file_size == len(data)
    with zipfile.ZipFile(io.BytesIO(data)) as archive:
        names = archive.namelist()
        assert {"trace.trace", "trace.network"} <= set(names)
        lines = [json.loads(line) for line in archive.read("trace.trace").decode().splitlines() if line]
        members = {name: archive.read(name) for name in names}
    # What the viewer reads first: the context's options, then actions and page snapshots.
    assert lines[0]["type"] == "context-options"
    kinds = {line["type"] for line in lines}
    assert {"before", "after"} <= kinds and "frame-snapshot" in kinds
    assert any(name.startswith("resources/") for name in names)  # screenshots and bodies
    # Playwright keeps typed text and field values (a password field's too); the placeholder
    # stands in for the value in both.
    typed = [line for line in lines if line.get("method") == "keyboardType"]
    assert {line["params"]["text"] for line in typed} == {"ada", "{{secret:PASSWORD}}"}
    snapshots = json.dumps([line for line in lines if line["type"] == "frame-snapshot"])
    assert '"__playwright_value_": "{{secret:PASSWORD}}"' in snapshots
    for name, body in members.items():
        assert SECRET.encode() not in body, name
    # The video was recorded beside the trace (both watch the page).
    video = artifacts.get(records[ArtifactType.RECORDING].uri)
    with av.open(io.BytesIO(video)) as container:
        assert sum(1 for _ in container.decode(container.streams.video[0])) > 0
