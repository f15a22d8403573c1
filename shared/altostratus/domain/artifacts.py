"""Artifact records: what an ArtifactStored event says, with the run it belongs to."""

from __future__ import annotations

from datetime import datetime

from pydantic import BaseModel, ConfigDict

from altostratus.domain import events as ev
from altostratus.domain.enums import ArtifactType


class ArtifactRecord(BaseModel):
    model_config = ConfigDict(frozen=True)

    artifact_id: str
    artifact_type: ArtifactType
    uri: str
    run_id: str
    org_id: str
    step_id: str | None = None
    checksum: str | None = None
    file_size: int | None = None
    content_type: str | None = None
    filename: str | None = None
    created_at: datetime

    @classmethod
    def from_event(cls, event: ev.Event) -> ArtifactRecord:
        data = event.data
        assert isinstance(data, ev.ArtifactStored)
        return cls(
            artifact_id=data.artifact_id,
            artifact_type=data.artifact_type,
            uri=data.uri,
            run_id=event.run_id,
            org_id=event.org_id,
            step_id=data.step_id,
            checksum=data.checksum,
            file_size=data.file_size,
            content_type=data.content_type,
            filename=data.filename,
            created_at=event.at,
        )


# Media a browser shows without running anything in it. Everything else an artifact may hold
# (HTML, SVG, JSON, text, PDF, archives) can carry script or be sniffed into something that
# does, so it is only ever handed over as a download.
_INLINE_MEDIA = frozenset({"image/png", "image/jpeg", "image/gif", "image/webp"})


def renders_inline(content_type: str | None) -> bool:
    """Whether an artifact of this media type may be displayed where it is served."""
    media = (content_type or "").split(";", 1)[0].strip().lower()
    return media in _INLINE_MEDIA or media.startswith("video/")
