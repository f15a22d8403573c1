"""Recording one slice of a run: the video of its browser, and (when asked for) its trace.

The run has one `recording` artifact, an MP4 that grows as the run goes on: it is created
(and indexed, so the run response links to it) when the first slice's browser opens, stored
again every few seconds and when the slice ends, each time as a complete file, and the next
slice continues it. A crash therefore loses at most the last few seconds, and the link plays
whatever has been stored so far. Its index entry has no size or checksum, since both change
until the run ends; the content answer's length and ETag are exact.

Encoding runs on a thread of its own; the event loop only keeps the newest screencast frame.
Nothing here may fail a run: a recording that cannot be made is logged and left out.
"""

from __future__ import annotations

import asyncio
import logging
import math
import threading
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from types import TracebackType
from typing import Any, Protocol

from altostratus.adapters.browser.session import BrowserSession
from altostratus.adapters.recording.screencast import Screencast
from altostratus.adapters.recording.settings import RecordingSettings
from altostratus.adapters.recording.trace import SliceTrace
from altostratus.adapters.recording.video import CONTENT_TYPE, VideoTrack, fit
from altostratus.domain import events as ev
from altostratus.domain.enums import ArtifactType
from altostratus.domain.ids import IdFactory
from altostratus.domain.view import RunView
from altostratus.ports.artifacts import ArtifactStore
from altostratus.ports.errors import PortError
from altostratus.ports.event_log import EventLog

log = logging.getLogger(__name__)
_FIRST_FRAME_TIMEOUT_S = 3.0
# A long run's video is rewritten less often than every flush interval, so that storing it
# never costs more than about this many bytes a second.
_REWRITE_BYTES_PER_S = 1024 * 1024


class Redaction(Protocol):
    """Hides a run's secrets in text and in JSON values (the engine's secret redaction)."""

    def redact(self, text: str) -> str: ...

    def redact_any(self, data: Any) -> Any: ...


@dataclass(frozen=True)
class RecordingSink:
    """Where recordings go. `redaction(view, hidden)` gives the run's secret redaction, which a
    trace passes through before it is stored; without one no trace is kept."""

    artifacts: ArtifactStore
    event_log: EventLog
    ids: IdFactory
    settings: RecordingSettings = field(default_factory=RecordingSettings)
    redaction: Callable[[RunView, tuple[str, ...]], Redaction] | None = None


class SliceRecording:
    """`async with SliceRecording(sink, view, session):` around one slice's steps."""

    def __init__(
        self, sink: RecordingSink, view: RunView, session: BrowserSession, *, hidden: Iterable[str] = ()
    ) -> None:
        self._sink = sink
        self._view = view
        self._session = session
        self._video: _Video | None = None
        self._trace: SliceTrace | None = None
        self._hidden = tuple(hidden)

    async def __aenter__(self) -> SliceRecording:
        settings = self._sink.settings
        if settings.video:
            video = _Video(self._sink, self._view, self._session)
            try:
                await video.start()
            except Exception:
                log.warning("run %s: no video of this slice", self._view.run_id, exc_info=True)
                await video.stop()
            else:
                self._video = video
        if settings.trace and self._sink.redaction is not None:
            trace = SliceTrace(self._sink, self._view, self._session, hidden=self._hidden)
            if await trace.start():
                self._trace = trace
        return self

    async def __aexit__(
        self, kind: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        if self._trace is not None:
            await self._trace.stop()
        if self._video is not None:
            await self._video.stop()

    @property
    def video_frames(self) -> int:
        return self._video.frames if self._video is not None else 0


class _Video:
    def __init__(self, sink: RecordingSink, view: RunView, session: BrowserSession) -> None:
        self._sink = sink
        self._view = view
        settings = sink.settings
        self._fps = settings.fps
        viewport = session.config.viewport
        self._size = fit(viewport.width, viewport.height, settings.max_width, settings.max_height)
        width, height = self._size
        self._screencast = Screencast(session, fps=settings.fps, max_width=width, max_height=height)
        self._track: VideoTrack | None = None
        self._key = ""
        self._artifact_id = ""
        self._indexed = False
        self._stopping = threading.Event()
        self._thread: threading.Thread | None = None
        self._started_at = 0.0
        self._first_frame = 0
        self._shown = 0
        self._stored_at = 0.0
        self._stored_bytes = 0
        self._stored_frames = -1

    @property
    def frames(self) -> int:
        return self._track.frames if self._track is not None else 0

    async def start(self) -> None:
        await self._screencast.start()
        await self._screencast.first_frame(_FIRST_FRAME_TIMEOUT_S)
        # Reading back the stored video and the first write block: not on the event loop.
        await asyncio.to_thread(self._open)
        self._thread = threading.Thread(target=self._loop, name=f"video-{self._view.run_id}", daemon=True)
        self._thread.start()

    async def stop(self) -> None:
        await self._screencast.stop()
        self._stopping.set()
        if self._thread is not None:
            await asyncio.to_thread(self._thread.join)
        elif self._track is not None:
            self._track.close()

    # -- on the video thread --

    def _open(self) -> None:
        width, height = self._size
        track = VideoTrack(width, height, self._fps)
        self._track = track
        recording = self._view.recording
        if recording is not None and self._continues(track, recording.uri):
            self._artifact_id = recording.artifact_id
            self._indexed = True
        else:
            self._artifact_id = self._sink.ids.new("a")
        # The key follows from the artifact id, so every slice stores at the same place.
        self._key = f"{self._view.org_id}/{self._view.run_id}/{self._artifact_id}.mp4"
        self._started_at = time.monotonic()
        self._first_frame = track.frames
        self._show()
        if track.has_picture:
            track.extend_to(track.frames + 1)
            self._store()

    def _continues(self, track: VideoTrack, uri: str) -> bool:
        try:
            stored = self._sink.artifacts.get(uri)
        except PortError:  # nothing stored there (or unreadable): a new video
            return False
        return track.continue_from(stored)

    def _loop(self) -> None:
        track = self._track
        assert track is not None
        tick = 1.0 / self._fps
        try:
            while not self._stopping.wait(tick):
                self._show()
                track.extend_to(self._due())
                interval = max(self._sink.settings.flush_seconds, self._stored_bytes / _REWRITE_BYTES_PER_S)
                if time.monotonic() - self._stored_at >= interval:
                    self._store()
            self._show()
            track.extend_to(self._due())
            self._store()
        except Exception:  # the recording must never stop the run
            log.warning("run %s: the video stopped", self._view.run_id, exc_info=True)
        finally:
            track.close()

    def _due(self) -> int:
        """The frames the video should have by now: one per tick since the slice began."""
        elapsed = time.monotonic() - self._started_at
        return self._first_frame + 1 + math.floor(elapsed * self._fps)

    def _show(self) -> None:
        latest = self._screencast.latest()
        if latest is None or latest[0] == self._shown or self._track is None:
            return
        self._shown = latest[0]
        self._track.show(latest[1])

    def _store(self) -> None:
        track = self._track
        if track is None or track.frames == self._stored_frames or not track.frames:
            return
        data = track.mp4()
        try:
            uri = self._sink.artifacts.put(self._key, data, content_type=CONTENT_TYPE)
        except PortError:
            log.warning("run %s: could not store the video", self._view.run_id, exc_info=True)
            return
        self._stored_at = time.monotonic()
        self._stored_bytes = len(data)
        self._stored_frames = track.frames
        if not self._indexed:
            self._index(uri)

    def _index(self, uri: str) -> None:
        stored = ev.ArtifactStored(
            artifact_id=self._artifact_id,
            artifact_type=ArtifactType.RECORDING,
            uri=uri,
            content_type=CONTENT_TYPE,
            filename="recording.mp4",
        )
        draft = ev.Draft(data=stored, event_id=f"{self._view.run_id}:recording:{self._artifact_id}")
        try:
            self._sink.event_log.append(self._view.run_id, [draft])
        except Exception:  # stored all the same; the next write tries to index it again
            log.warning("run %s: could not index the video", self._view.run_id, exc_info=True)
        else:
            self._indexed = True
