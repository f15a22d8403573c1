"""Appending a step's events with deterministic ids, and storing its artifacts.

Every event of a step gets the id f"{step_id}:{what}", so a slice retried from a checkpoint
(which reuses the step id) re-appends nothing it already recorded. Artifacts, thoughts and a
planned action are staged and written with the next event (the action's result, the step's
end), so a step costs one append per executed action plus its start and its end.
"""

from __future__ import annotations

import hashlib
import json
import mimetypes
import re
from pathlib import Path
from typing import Any, Literal

from altostratus.domain import events as ev
from altostratus.domain.enums import ArtifactType
from altostratus.domain.errors import InvalidTransitionError
from altostratus.domain.ids import IdFactory
from altostratus.domain.view import RunView
from altostratus.ports.artifacts import ArtifactStore
from altostratus.ports.browser import Download
from altostratus.ports.event_log import EventLog

_EXTENSIONS = {
    "image/png": ".png",
    "image/jpeg": ".jpg",
    "text/html": ".html",
    "application/json": ".json",
    "text/plain": ".txt",
}


def _safe_name(filename: str) -> str:
    name = re.sub(r"[^A-Za-z0-9._-]+", "_", Path(filename).name).strip("._")
    return name[:120] or "download"


ThoughtType = Literal["plan", "user_goal_check", "failure_describe", "termination"]


class RunEndedElsewhereError(Exception):
    """The run reached its terminal event outside this slice (a cancel, an operator)."""


class Recorder:
    def __init__(
        self,
        *,
        event_log: EventLog,
        artifacts: ArtifactStore,
        ids: IdFactory,
        run_id: str,
        org_id: str,
        step_id: str,
    ) -> None:
        self._log = event_log
        self._artifacts = artifacts
        self._ids = ids
        self.run_id = run_id
        self.org_id = org_id
        self.step_id = step_id
        self._artifact_count = 0
        self._thought_count = 0
        self._pending: list[ev.Draft] = []
        # The run's view as the last append left it: a cancel shows here without another read.
        self.last_view: RunView | None = None

    def stage(self, data: ev.EventData, what: str) -> None:
        """Keep an event to write with the next `append` (or `flush`), in order."""
        self._pending.append(ev.Draft(data=data, event_id=f"{self.step_id}:{what}"))

    def append(self, data: ev.EventData, what: str) -> None:
        """Write the staged events and this one, in one append."""
        self.stage(data, what)
        self.flush()

    def flush(self) -> None:
        """Write the staged events (artifacts, thoughts, a planned action), if any."""
        if not self._pending:
            return
        drafts, self._pending = self._pending, []
        try:
            result = self._log.append(self.run_id, drafts)
        except InvalidTransitionError as exc:
            # The run ended elsewhere (a cancel) while this step was in flight: the step is
            # abandoned whole, its pictures with it. Keeping them would make the record depend
            # on whether the model answered before the slice's watcher saw the end (the
            # watcher stops the step before it stages anything more).
            raise RunEndedElsewhereError(exc.reason) from exc
        self.last_view = result.view

    def artifact(self, kind: ArtifactType, data: bytes, content_type: str) -> str:
        """Store bytes as an artifact of this step; returns the artifact id."""
        self._artifact_count += 1
        artifact_id = self._ids.new("a")
        key = f"{self.org_id}/{self.run_id}/{artifact_id}{_EXTENSIONS.get(content_type, '.bin')}"
        uri = self._artifacts.put(key, data, content_type=content_type)
        self.stage(
            ev.ArtifactStored(
                artifact_id=artifact_id,
                artifact_type=kind,
                uri=uri,
                step_id=self.step_id,
                checksum=hashlib.sha256(data).hexdigest(),
                file_size=len(data),
                content_type=content_type,
            ),
            f"artifact:{kind.value}:{self._artifact_count}",
        )
        return artifact_id

    def download(self, download: Download) -> str:
        """Store a file the page downloaded; it becomes one of the run's `downloaded_files`."""
        data = Path(download.path).read_bytes()
        content_type = mimetypes.guess_type(download.filename)[0] or "application/octet-stream"
        artifact_id = self._ids.new("a")
        key = f"{self.org_id}/{self.run_id}/{artifact_id}/{_safe_name(download.filename)}"
        uri = self._artifacts.put(key, data, content_type=content_type)
        self.stage(
            ev.ArtifactStored(
                artifact_id=artifact_id,
                artifact_type=ArtifactType.DOWNLOAD,
                uri=uri,
                step_id=self.step_id,
                checksum=hashlib.sha256(data).hexdigest(),
                file_size=len(data),
                content_type=content_type,
                filename=download.filename,
            ),
            f"download:{download.sha256 or artifact_id}:{download.filename}",
        )
        return artifact_id

    def json_artifact(self, kind: ArtifactType, body: Any) -> str:
        return self.artifact(kind, json.dumps(body, default=str).encode(), "application/json")

    def thought(
        self,
        thought: str,
        *,
        thought_type: ThoughtType = "plan",
        observation: str | None = None,
        answer: str | None = None,
        checklist: tuple[dict[str, Any], ...] = (),
    ) -> None:
        self._thought_count += 1
        self.stage(
            ev.ThoughtRecorded(
                thought_id=f"{self.step_id}:thought:{self._thought_count}",
                step_id=self.step_id,
                thought_type=thought_type,
                thought=thought,
                observation=observation,
                answer=answer,
                checklist=checklist,
            ),
            f"thought:{self._thought_count}",
        )
