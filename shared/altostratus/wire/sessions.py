"""The browser-session JSON the API answers: Skyvern's `BrowserSessionResponse`."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import datetime, timedelta
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from altostratus.domain import sessions as s
from altostratus.domain.artifacts import ArtifactRecord
from altostratus.domain.view import RunView
from altostratus.ports.artifacts import ArtifactStore
from altostratus.wire.render import wire_time


class FileInfo(BaseModel):
    url: str
    checksum: str | None = None
    filename: str | None = None
    file_size: int | None = None
    modified_at: str | None = None
    artifact_id: str | None = None


class BrowserSessionResponse(BaseModel):
    model_config = ConfigDict(extra="forbid")

    browser_session_id: str
    organization_id: str
    status: str
    runnable_type: str | None = None
    runnable_id: str | None = None
    timeout: int
    browser_address: str | None = None
    app_url: str | None = None
    extensions: list[str] | None = None
    browser_type: str | None = None
    browser_profile_id: str | None = None
    generate_browser_profile: bool = False
    vnc_streaming_supported: bool = False
    download_path: str | None = None
    downloaded_files: list[FileInfo] = Field(default_factory=list)
    recordings: list[FileInfo] = Field(default_factory=list)
    started_at: str | None = None
    completed_at: str | None = None
    created_at: str
    modified_at: str
    deleted_at: str | None = None
    remaining_lifetime_seconds: int | None = None
    warning: str | None = Field(default=None, description="Set when a requested timeout was capped.")


class CloseBrowserSessionResponse(BaseModel):
    message: str


class ExtendBrowserSessionBody(BaseModel):
    model_config = ConfigDict(extra="forbid")

    additional_minutes: int = Field(ge=1, description="Minutes to add to the session's timeout.")


class CreateBrowserSessionBody(BaseModel):
    """Every field is optional; the SDK sends only those given."""

    model_config = ConfigDict(extra="forbid")

    timeout: int | None = Field(
        default=None,
        ge=s.MIN_TIMEOUT,
        description=f"Minutes, counted from the start; above {s.MAX_TIMEOUT} it is capped with a warning.",
    )
    url: str | None = None
    proxy_location: Any = None
    proxy_session_id: str | None = None
    extensions: list[str] | None = None
    browser_type: str | None = None
    browser_profile_id: str | None = Field(default=None, pattern=r"^bp_")
    generate_browser_profile: bool | None = None


def session_files(
    runs: Sequence[RunView],
    artifacts: ArtifactStore,
    record: Callable[[str], ArtifactRecord | None],
) -> tuple[list[FileInfo], list[FileInfo]]:
    """The files the session's runs downloaded and their recordings, each newest first (by
    when they were stored), with signed links as every other artifact link."""
    downloads: list[tuple[datetime, FileInfo]] = []
    recordings: list[tuple[datetime, FileInfo]] = []
    for run in runs:
        for f in run.downloads:
            info = FileInfo(
                url=artifacts.signed_url(f.uri, artifact_id=f.artifact_id),
                checksum=f.checksum,
                filename=f.filename,
                file_size=f.file_size,
                modified_at=wire_time(f.modified_at),
                artifact_id=f.artifact_id,
            )
            downloads.append((f.modified_at, info))
        if run.recording is not None:
            stored = record(run.recording.artifact_id)
            at = stored.created_at if stored is not None else run.modified_at
            info = FileInfo(
                url=artifacts.signed_url(run.recording.uri, artifact_id=run.recording.artifact_id),
                checksum=stored.checksum if stored else None,
                filename=(stored.filename if stored else None) or f"{run.run_id}.mp4",
                file_size=stored.file_size if stored else None,
                modified_at=wire_time(at),
                artifact_id=run.recording.artifact_id,
            )
            recordings.append((at, info))

    def newest_first(found: list[tuple[datetime, FileInfo]]) -> list[FileInfo]:
        return [info for _, info in sorted(found, key=lambda pair: pair[0], reverse=True)]

    return newest_first(downloads), newest_first(recordings)


def session_response(
    view: s.SessionView,
    now: datetime,
    *,
    browser_address: str | None = None,
    app_url: str | None = None,
    warning: str | None = None,
    downloaded_files: Sequence[FileInfo] = (),
    recordings: Sequence[FileInfo] = (),
) -> BrowserSessionResponse:
    status = view.status_at(now)
    holder = view.holder_at(now) if not status.is_final else None
    remaining = max(0, int((view.deadline - now) / timedelta(seconds=1))) if not status.is_final else 0
    return BrowserSessionResponse(
        browser_session_id=view.session_id,
        organization_id=view.org_id,
        status=status.value,
        runnable_type="task_run" if holder else None,
        runnable_id=holder,
        timeout=view.timeout,
        browser_address=browser_address if not status.is_final else None,
        app_url=f"{app_url.rstrip('/')}/browser-session/{view.session_id}" if app_url else None,
        extensions=view.spec.extensions,
        browser_type=view.spec.browser_type,
        browser_profile_id=view.spec.browser_profile_id,
        generate_browser_profile=view.spec.generate_browser_profile,
        vnc_streaming_supported=False,
        download_path=f"/app/downloads/{view.org_id}/{view.session_id}",
        downloaded_files=list(downloaded_files),
        recordings=list(recordings),
        started_at=wire_time(view.started_at),
        completed_at=wire_time(view.completed_at_as_of(now)),
        created_at=wire_time(view.created_at) or "",
        modified_at=wire_time(view.modified_at) or "",
        remaining_lifetime_seconds=remaining,
        warning=warning,
    )
