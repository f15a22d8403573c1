"""Every run's browser is recorded: a 3-step run split over several short slices yields one MP4
whose frames and duration match the time the run's browser was open, on the embedded runtime
(served by the API with ranges, played and seeked by Chromium) and on AWS (moto's S3)."""

from __future__ import annotations

import asyncio
import base64
import io
import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import av
import boto3
import httpx
import pytest

from altostratus.adapters.browser.runtime import BrowserRuntime
from altostratus.api.gateway_event import http_api_event
from altostratus.domain import events as ev
from altostratus.domain.view import RunView
from altostratus.runtimes import aws as aws_runtime
from tests.agent.scenarios import LINKS
from tests.fakes.anthropic_server import FakeAnthropicServer, HttpError
from tests.flow.drivers import AwsStack, play_aws, play_embedded
from tests.flow.scenarios import FlowScenario
from tests.support.fixture_site import FixtureSite
from tests.support.functions import FakeLambdaContext

pytestmark = pytest.mark.browser

FPS = 10.0
# Slices so short that each runs about one step: the video must continue across them.
SCENARIO = FlowScenario(
    "three steps over short slices",
    LINKS,
    "completed",
    settings={"slice_seconds": 0.7, "step_reserve_seconds": 0.5, "recording_fps": FPS},
)


@pytest.fixture
def model() -> Iterator[FakeAnthropicServer]:
    with FakeAnthropicServer(lambda request: HttpError(500, "api_error", "no policy yet")) as server:
        yield server


def _decoded(data: bytes) -> tuple[int, float, tuple[int, int]]:
    """(frames decoded, duration in seconds, picture size) of an MP4."""
    with av.open(io.BytesIO(data)) as container:
        stream = container.streams.video[0]
        frames = sum(1 for _ in container.decode(stream))
        assert container.duration is not None
        size = (stream.codec_context.width, stream.codec_context.height)
        return frames, container.duration / 1_000_000, size


def _check_video(data: bytes, view: RunView, events: list[ev.Event]) -> None:
    assert view.status.value == "completed", view.failure_reason
    assert view.step_count == 3
    slices = 1 + sum(1 for e in events if isinstance(e.data, ev.CheckpointSaved))
    assert slices >= 2, "the run should span several slices"
    stored = [e.data for e in events if isinstance(e.data, ev.ArtifactStored)]
    recordings = [a for a in stored if a.artifact_type == "recording"]
    assert len(recordings) == 1, "one recording per run, continued by every slice"
    frames, seconds, size = _decoded(data)
    assert size == (1280, 720)
    # A constant frame rate: as many frames as the duration holds.
    assert abs(frames - seconds * FPS) <= 1, (frames, seconds)
    assert view.started_at is not None and view.finished_at is not None
    run_seconds = (view.finished_at - view.started_at).total_seconds()
    # The video covers each slice while its browser was open: every step, and not more than
    # the run's wall-clock time (the time between slices, a new browser each on AWS, is not in it).
    started = {e.data.step_id: e.at for e in events if isinstance(e.data, ev.StepStarted)}
    ended = [(e.data.step_id, e.at) for e in events if isinstance(e.data, ev.StepFinished)]
    in_steps = sum((at - started[step_id]).total_seconds() for step_id, at in ended)
    assert in_steps > 0
    assert in_steps - slices / FPS <= seconds <= run_seconds + 0.5, (in_steps, seconds, run_seconds, slices)


async def _play(runtime: BrowserRuntime, url: str) -> dict[str, Any]:
    context = await runtime.browser.new_context()
    try:
        page = await context.new_page()
        await page.set_content("<main><video muted preload=metadata></video></main>")
        result: dict[str, Any] = await page.evaluate(
            """async (url) => {
                const video = document.querySelector('video');
                const failed = () => new Error('video error ' + (video.error && video.error.code));
                await new Promise((ok, no) => {
                    video.onloadedmetadata = ok;
                    video.onerror = () => no(failed());
                    video.src = url;
                });
                const duration = video.duration;
                video.currentTime = duration / 2;
                await new Promise((ok, no) => { video.onseeked = ok; video.onerror = () => no(failed()); });
                return {duration, seekedTo: video.currentTime, width: video.videoWidth};
            }""",
            url,
        )
        return result
    finally:
        await context.close()


def test_the_embedded_runtime_records_serves_and_plays_a_run(
    tmp_path: Path,
    site: FixtureSite,
    model: FakeAnthropicServer,
    runtime: BrowserRuntime,
    browser_loop: asyncio.AbstractEventLoop,
) -> None:
    seen: dict[str, Any] = {}

    def look(http: httpx.Client, run_ids: list[str]) -> None:
        run = http.get(f"/v1/runs/{run_ids[0]}").json()
        listed = http.get(f"/v1/runs/{run_ids[0]}/artifacts", params={"artifact_type": "recording"}).json()
        assert [a["artifact_type"] for a in listed] == ["recording"]
        # No trace unless the setting turns it on.
        assert http.get(f"/v1/runs/{run_ids[0]}/artifacts", params={"artifact_type": "trace"}).json() == []
        stored = (
            tmp_path / "embedded" / "artifacts" / listed[0]["uri"].removeprefix("local://")
        ).read_bytes()
        url = run["recording_url"]
        assert url and url == listed[0]["signed_url"].split("?")[0] + "?" + url.split("?")[1]
        whole = httpx.get(url, timeout=10)  # a signed link: no key
        assert whole.status_code == 200
        assert whole.headers["content-type"] == "video/mp4"
        assert whole.headers["accept-ranges"] == "bytes"
        assert whole.headers["content-disposition"].startswith("inline")
        assert whole.content == stored
        part = httpx.get(url, headers={"Range": "bytes=100-1099"}, timeout=10)
        assert part.status_code == 206
        assert part.headers["content-range"] == f"bytes 100-1099/{len(stored)}"
        assert part.content == stored[100:1100]
        tail = httpx.get(url, headers={"Range": f"bytes={len(stored) - 10}-"}, timeout=10)
        assert tail.status_code == 206 and tail.content == stored[-10:]
        seen["played"] = browser_loop.run_until_complete(_play(runtime, url))
        seen["data"] = stored

    played = play_embedded(SCENARIO, tmp_path, site, model, before_stop=look)
    _check_video(seen["data"], played.view, played.events)
    playback = seen["played"]
    _, seconds, _ = _decoded(seen["data"])
    assert playback["duration"] == pytest.approx(seconds, abs=0.25)
    assert playback["seekedTo"] == pytest.approx(playback["duration"] / 2, abs=0.25)
    assert playback["width"] == 1280


def test_the_moto_flow_records_a_run_into_s3(
    site: FixtureSite, model: FakeAnthropicServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    seen: dict[str, Any] = {}

    def look(stack: AwsStack, run_ids: list[str]) -> None:
        run = json.loads(stack.call_api("GET", f"/v1/runs/{run_ids[0]}")["body"])
        view = aws_runtime.runtime().event_log.get_view(run_ids[0])
        assert view is not None and view.recording is not None
        bucket, _, key = view.recording.uri.removeprefix("s3://").partition("/")
        s3 = boto3.client("s3", region_name="us-east-1")
        head = s3.head_object(Bucket=bucket, Key=key)
        assert head["ContentType"] == "video/mp4"
        assert "ContentDisposition" not in head  # video is shown where it is served
        stored = s3.get_object(Bucket=bucket, Key=key)["Body"].read()
        # The link is the API's signed content route of the recording, answered without a key.
        link = urlsplit(run["recording_url"])
        assert link.path == f"/v1/artifacts/{view.recording.artifact_id}/content"
        event = http_api_event("GET", link.path, headers={"host": link.netloc}, query=link.query)
        reply = stack.api.handler(event, FakeLambdaContext("api"))
        assert reply["statusCode"] == 200
        assert {k.lower(): v for k, v in reply["headers"].items()}["content-type"] == "video/mp4"
        body = base64.b64decode(reply["body"]) if reply.get("isBase64Encoded") else reply["body"].encode()
        assert body == stored
        seen["data"] = stored

    played = play_aws(SCENARIO, monkeypatch, site, model, before_stop=look)
    _check_video(seen["data"], played.view, played.events)
    # AND every link its answers handed out, its screenshots' too, answered the bucket's bytes
    # (the driver fetches them all)
    assert played.view.recording is not None
    assert {f.where.partition("[")[0] for f in played.links} >= {"recording_url", "screenshot_urls"}
    assert played.view.recording.artifact_id in {f.artifact_id for f in played.links}
