"""The run view: a pure fold of a run's events, stored beside the log and served by get_run.

`apply(view, event)` is the only place that knows what an event means for a run; it also
enforces the run's rules (one terminal event, nothing but artifacts and webhook records after
it), so an append that would break them is refused before anything is written.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime
from typing import Any

from pydantic import BaseModel, ConfigDict

from altostratus.domain import events as ev
from altostratus.domain.enums import ArtifactType, Engine, RunStatus, RunType, StepStatus, WebhookStatus
from altostratus.domain.errors import InvalidTransitionError, RunAlreadyExistsError, RunAlreadyFinishedError

# get_run shows the newest screenshots only, so a long run's view stays small and flat to read.
MAX_SCREENSHOTS_IN_VIEW = 10


class ArtifactRef(BaseModel):
    """An artifact the run response links to; the URI is kept so rendering needs no lookups."""

    model_config = ConfigDict(frozen=True)
    artifact_id: str
    uri: str


class DownloadedFile(BaseModel):
    model_config = ConfigDict(frozen=True)
    artifact_id: str
    uri: str
    filename: str | None = None
    checksum: str | None = None
    file_size: int | None = None
    modified_at: datetime


class WebhookState(BaseModel):
    model_config = ConfigDict(frozen=True)
    status: WebhookStatus
    delivery_id: str | None = None
    attempts: int = 0
    last_status_code: int | None = None
    failure_reason: str | None = None
    delivered_at: datetime | None = None


class RunView(BaseModel):
    model_config = ConfigDict(frozen=True)

    run_id: str
    org_id: str
    run_type: RunType
    engine: Engine | None = None
    status: RunStatus
    version: int
    created_at: datetime
    modified_at: datetime
    queued_at: datetime | None = None
    started_at: datetime | None = None
    finished_at: datetime | None = None

    title: str | None = None
    request: dict[str, Any]
    request_echo: dict[str, Any]
    sealed_request: str | None = None
    stored_parts: ev.StoredRequestParts | None = None
    api_key_id: str | None = None
    webhook_url: str | None = None
    max_steps: int | None = None
    max_screenshot_scrolls: int | None = None
    browser_session_id: str | None = None
    browser_profile_id: str | None = None
    workflow_id: str | None = None
    run_with: str | None = None
    ai_fallback: bool | None = None
    script_id: str | None = None
    script_revision_id: str | None = None
    # A code run whose replay handed over to the agent: at which step, and why.
    ai_fallback_triggered: bool = False
    fallback_steps_done: int | None = None
    fallback_reason: str | None = None
    # The revision a publish (or a heal) made from this run.
    published_script_revision_id: str | None = None

    output: Any = None
    failure_reason: str | None = None
    errors: tuple[ev.RunError, ...] = ()
    step_count: int = 0
    current_step_id: str | None = None
    cancel_requested: bool = False
    screenshots: tuple[ArtifactRef, ...] = ()  # newest first
    recording: ArtifactRef | None = None
    downloads: tuple[DownloadedFile, ...] = ()
    usage: ev.Usage = ev.Usage()
    checkpoint_uri: str | None = None
    next_step_order: int = 1
    webhook: WebhookState | None = None

    @property
    def is_terminal(self) -> bool:
        return self.status.is_terminal


def _add_usage(total: ev.Usage, step: ev.Usage) -> ev.Usage:
    return ev.Usage(
        input_tokens=total.input_tokens + step.input_tokens,
        cached_input_tokens=total.cached_input_tokens + step.cached_input_tokens,
        cache_write_tokens=total.cache_write_tokens + step.cache_write_tokens,
        output_tokens=total.output_tokens + step.output_tokens,
        cost_usd=round(total.cost_usd + step.cost_usd, 6),
        llm_calls=total.llm_calls + step.llm_calls,
    )


def _created(event: ev.Event, data: ev.RunCreated) -> RunView:
    # The view starts as what the run was created with (every RunCreated field is a view field).
    return RunView(
        run_id=event.run_id,
        status=RunStatus.CREATED,
        version=event.seq,
        created_at=event.at,
        modified_at=event.at,
        **{name: value for name, value in dict(data).items() if name != "type"},
    )


def _require(view: RunView, event: ev.Event, allowed: Iterable[RunStatus]) -> None:
    allowed = tuple(allowed)
    if view.status not in allowed:
        names = ", ".join(s.value for s in allowed)
        raise InvalidTransitionError(view.run_id, event.type, f"the run is {view.status.value}, not {names}")


def _terminal(view: RunView, event: ev.Event, data: ev.TerminalEvent) -> dict[str, Any]:
    status = {
        "RunCompleted": RunStatus.COMPLETED,
        "RunFailed": RunStatus.FAILED,
        "RunTerminated": RunStatus.TERMINATED,
        "RunTimedOut": RunStatus.TIMED_OUT,
        "RunCanceled": RunStatus.CANCELED,
    }[data.type]
    update: dict[str, Any] = {
        "status": status,
        "finished_at": event.at,
        "current_step_id": None,
        "errors": view.errors + data.errors,
        "failure_reason": data.reason if status is not RunStatus.COMPLETED else None,
        "usage": _add_usage(view.usage, data.usage),
    }
    if isinstance(data, ev.RunCompleted) and data.output is not None:
        update["output"] = data.output
    if view.webhook_url and view.webhook is None:
        update["webhook"] = WebhookState(status=WebhookStatus.PENDING)
    return update


def _artifact(view: RunView, event: ev.Event, data: ev.ArtifactStored) -> dict[str, Any]:
    ref = ArtifactRef(artifact_id=data.artifact_id, uri=data.uri)
    if data.artifact_type.is_screenshot:
        return {"screenshots": (ref, *view.screenshots)[:MAX_SCREENSHOTS_IN_VIEW]}
    if data.artifact_type is ArtifactType.RECORDING:
        return {"recording": ref}
    if data.artifact_type is ArtifactType.DOWNLOAD:
        file = DownloadedFile(
            artifact_id=data.artifact_id,
            uri=data.uri,
            filename=data.filename,
            checksum=data.checksum,
            file_size=data.file_size,
            modified_at=event.at,
        )
        return {"downloads": (*view.downloads, file)}
    return {}


def _webhook(
    view: RunView, data: ev.WebhookAttempted | ev.WebhookDelivered | ev.WebhookFailed, at: datetime
) -> dict[str, Any]:
    state = view.webhook or WebhookState(status=WebhookStatus.PENDING)
    match data:
        case ev.WebhookAttempted():
            state = state.model_copy(
                update={
                    "delivery_id": data.delivery_id,
                    "attempts": state.attempts + 1,
                    "last_status_code": data.status_code,
                }
            )
        case ev.WebhookDelivered():
            state = state.model_copy(
                update={"status": WebhookStatus.DELIVERED, "failure_reason": None, "delivered_at": at}
            )
        case ev.WebhookFailed() if state.delivered_at is None:
            state = state.model_copy(update={"status": WebhookStatus.FAILED, "failure_reason": data.reason})
        case ev.WebhookFailed():
            pass  # once the run's webhook reached a receiver, a later failed replay does not undo it
    return {"webhook": state}


_RUNNING = (RunStatus.RUNNING,)
_NOT_TERMINAL = (RunStatus.CREATED, RunStatus.QUEUED, RunStatus.RUNNING)


def apply(view: RunView | None, event: ev.Event) -> RunView:
    """The view after `event`; raises InvalidTransitionError when the run's rules forbid it."""
    data = event.data
    if isinstance(data, ev.RunCreated):
        if view is not None:
            raise RunAlreadyExistsError(event.run_id, data.type, "the run already exists")
        if event.seq != 1:
            raise InvalidTransitionError(event.run_id, data.type, "RunCreated must be the first event")
        return _created(event, data)
    if view is None:
        raise InvalidTransitionError(event.run_id, data.type, "the run does not exist")
    if event.seq != view.version + 1:
        raise InvalidTransitionError(
            event.run_id, data.type, f"seq {event.seq} does not follow {view.version}"
        )
    if view.is_terminal and data.type not in ev.AFTER_TERMINAL_TYPES:
        raise RunAlreadyFinishedError(event.run_id, data.type, f"the run already ended {view.status.value}")

    update: dict[str, Any]
    match data:
        case ev.RunQueued():
            _require(view, event, (RunStatus.CREATED,))
            update = {"status": RunStatus.QUEUED, "queued_at": event.at}
        case ev.RunStarted():
            _require(view, event, (RunStatus.CREATED, RunStatus.QUEUED))
            update = {"status": RunStatus.RUNNING, "started_at": event.at}
        case ev.RunResumed():
            _require(view, event, _RUNNING)
            update = {}
        case ev.RunCancelRequested():
            update = {"cancel_requested": True}
        case ev.RunCompleted() | ev.RunFailed() | ev.RunTerminated() | ev.RunTimedOut() | ev.RunCanceled():
            update = _terminal(view, event, data)
        case ev.StepStarted():
            _require(view, event, _RUNNING)
            update = {
                "step_count": view.step_count + 1,
                "current_step_id": data.step_id,
                "next_step_order": max(view.next_step_order, data.order + 1),
            }
        case ev.StepFinished():
            _require(view, event, _RUNNING)
            update = {"usage": _add_usage(view.usage, data.usage), "current_step_id": None}
            if data.status is StepStatus.INTERRUPTED:
                update["step_count"] = max(0, view.step_count - 1)
        case ev.ActionPlanned() | ev.ActionExecuted() | ev.ThoughtRecorded() | ev.CompletionChecked():
            _require(view, event, _RUNNING)
            update = {}
        case ev.OutputProduced():
            _require(view, event, _RUNNING)
            update = {"output": data.output}
        case ev.WorkflowPublished():
            _require(view, event, _RUNNING)
            update = {
                "workflow_id": data.workflow_permanent_id,
                "published_script_revision_id": data.script_revision_id,
            }
            if view.script_id is None:
                update["script_id"] = data.script_id
        case ev.ScriptFellBack():
            _require(view, event, _RUNNING)
            update = {
                "ai_fallback_triggered": True,
                "fallback_steps_done": data.steps_done,
                "fallback_reason": data.reason,
            }
        case ev.CheckpointSaved():
            _require(view, event, _RUNNING)
            update = {"checkpoint_uri": data.uri, "next_step_order": data.next_step_order}
        case ev.ArtifactStored():
            update = _artifact(view, event, data)
        case ev.WebhookAttempted() | ev.WebhookDelivered() | ev.WebhookFailed():
            update = _webhook(view, data, event.at)
    return view.model_copy(update={**update, "version": event.seq, "modified_at": event.at})


def fold(events: Iterable[ev.Event], view: RunView | None = None) -> RunView | None:
    """The view of a run from its events (optionally continuing from an earlier view)."""
    for event in events:
        view = apply(view, event)
    return view
