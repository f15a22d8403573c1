"""Domain objects as the Skyvern v1 wire shapes: run, artifact, timeline."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from altostratus.domain.artifacts import ArtifactRecord
from altostratus.domain.enums import RunType
from altostratus.domain.timeline import TimelineEntry
from altostratus.domain.view import RunView
from altostratus.ports.artifacts import ArtifactStore


def wire_time(value: datetime | None) -> str | None:
    """Skyvern's timestamps: ISO 8601, naive UTC."""
    if value is None:
        return None
    return value.astimezone(UTC).replace(tzinfo=None).isoformat()


def run_response(
    view: RunView, artifacts: ArtifactStore, *, app_url: str | None = None, include_request: bool = True
) -> dict[str, Any]:
    """TaskRunResponse / GetRunResponse (and the webhook body's run part)."""

    def link(artifact_id: str, uri: str) -> str:
        return artifacts.signed_url(uri, artifact_id=artifact_id)

    files = [
        {
            "url": link(f.artifact_id, f.uri),
            "checksum": f.checksum,
            "filename": f.filename,
            "file_size": f.file_size,
            "modified_at": wire_time(f.modified_at),
            "artifact_id": f.artifact_id,
        }
        for f in view.downloads
    ]
    body: dict[str, Any] = {
        "run_id": view.run_id,
        "run_type": view.run_type.value,
        "status": view.status.value,
        "output": view.output,
        "downloaded_files": files,
        "recording_url": link(view.recording.artifact_id, view.recording.uri) if view.recording else None,
        "recording_archived": False,
        "screenshot_urls": [link(ref.artifact_id, ref.uri) for ref in view.screenshots],
        "failure_reason": view.failure_reason,
        "created_at": wire_time(view.created_at),
        "modified_at": wire_time(view.modified_at),
        "queued_at": wire_time(view.queued_at),
        "started_at": wire_time(view.started_at),
        "finished_at": wire_time(view.finished_at),
        "app_url": f"{app_url.rstrip('/')}/runs/{view.run_id}" if app_url else None,
        "browser_session_id": view.browser_session_id,
        "browser_profile_id": view.browser_profile_id,
        "max_screenshot_scrolls": view.max_screenshot_scrolls,
        "script_run": script_run(view),
        "errors": [e.model_dump(mode="json") for e in view.errors],
        "step_count": view.step_count,
        "title": view.title,
        "webhook_status": view.webhook.status.value if view.webhook else None,
        "webhook_failure_reason": view.webhook.failure_reason if view.webhook else None,
        # Not a Skyvern field (its SDK keeps unknown fields): what the run's model calls cost.
        "model_usage": model_usage(view),
        "workflow_permanent_id": view.workflow_id,
    }
    if view.run_type is RunType.WORKFLOW_RUN:
        body |= {
            "run_with": view.run_with,
            "ai_fallback": view.ai_fallback,
            "script_id": view.script_id,
            "attempt": 1,
            "retry_pending": False,
        }
    if include_request:
        body["run_request"] = view.request_echo
    return body


def model_usage(view: RunView) -> dict[str, Any]:
    """The model tokens and dollars the run's steps recorded so far (dollars from the price
    list of the model; 0 for a model without a listed price)."""
    usage = view.usage
    return {
        "input_tokens": usage.input_tokens,
        "cached_input_tokens": usage.cached_input_tokens,
        "cache_write_tokens": usage.cache_write_tokens,
        "output_tokens": usage.output_tokens,
        "llm_calls": usage.llm_calls,
        "cost_usd": usage.cost_usd,
    }


def script_run(view: RunView) -> dict[str, Any] | None:
    """Skyvern's `script_run`: set when the run loaded a script (a code run)."""
    if view.run_type is not RunType.WORKFLOW_RUN or view.run_with != "code" or view.script_id is None:
        return None
    return {
        "ai_fallback_triggered": view.ai_fallback_triggered,
        "script_id": view.script_id,
        "script_revision_id": view.script_revision_id,
    }


def artifact_response(record: ArtifactRecord, artifacts: ArtifactStore) -> dict[str, Any]:
    return {
        "artifact_id": record.artifact_id,
        "artifact_type": record.artifact_type.value,
        "uri": record.uri,
        "signed_url": artifacts.signed_url(record.uri, artifact_id=record.artifact_id),
        "organization_id": record.org_id,
        "run_id": record.run_id,
        "task_id": record.run_id,
        "step_id": record.step_id,
        "checksum": record.checksum,
        "file_size": record.file_size,
        "content_type": record.content_type,
        "filename": record.filename,
        "created_at": wire_time(record.created_at),
        "modified_at": wire_time(record.created_at),
        "archived": False,
    }


def timeline_response(entries: list[TimelineEntry]) -> list[dict[str, Any]]:
    def fix_times(value: Any) -> Any:
        if isinstance(value, dict):
            return {k: fix_times(v) for k, v in value.items()}
        if isinstance(value, list):
            return [fix_times(v) for v in value]
        if isinstance(value, datetime):
            return wire_time(value)
        return value

    return [fix_times(entry.model_dump(mode="python")) for entry in entries]
