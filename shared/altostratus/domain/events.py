"""Run events: immutable, typed and versioned facts, the only thing a run is made of.

An `Event` is the stored envelope (`event_id`, `run_id`, `seq`, `org_id`, `at`,
`schema_version`, `type`, `data`); `data` is one of the payload models below, told apart by
its `type`. A `Draft` is a payload not yet appended: the event log gives it its seq and time.
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any, Literal, get_args

from pydantic import BaseModel, ConfigDict, Field, TypeAdapter, computed_field

from altostratus.domain.enums import (
    ActionStatus,
    ActionType,
    ArtifactType,
    Engine,
    RunType,
    StepStatus,
)
from altostratus.domain.replay.targets import ObservedEffect, SelectorBundle, TextSource

# 2: `ActionPlanned.created_by`, `ActionExecuted.target` and `.observed`, `OutputProduced.sources`
# (all optional with defaults, so a version-1 log still decodes and folds unchanged).
SCHEMA_VERSION = 2
# Who chose an action: the model, or a replayed plan (shown in the timeline as code).
CreatedBy = Literal["agent", "script"]


class _Payload(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class RunError(_Payload):
    """An entry of the run's `errors[]`."""

    error_code: str
    reasoning: str | None = None
    confidence_float: float | None = None
    error_type: Literal["USER_DEFINED_ERROR", "SYSTEM_DEFINED_ERROR"] = "SYSTEM_DEFINED_ERROR"


class Usage(_Payload):
    """LLM usage of one step; dollars are computed from the model's price list when known."""

    input_tokens: int = 0
    cached_input_tokens: int = 0
    cache_write_tokens: int = 0
    output_tokens: int = 0
    cost_usd: float = 0.0
    llm_calls: int = 0


# --- lifecycle ---------------------------------------------------------------------------


class StoredRequestParts(_Payload):
    """Where a run's largest request parts are kept when the log would be too large with them:
    one JSON document in the artifact store, checked by its digest when it is read back."""

    uri: str
    sha256: str
    size: int
    # The fields taken out of `request` and `request_echo` (`request_echo` keeps a prompt's
    # excerpt so listing and search still see it).
    fields: tuple[str, ...] = ()
    # Whether `sealed_request` (still sealed) moved into the document too.
    sealed: bool = False


class RunCreated(_Payload):
    type: Literal["RunCreated"] = "RunCreated"
    org_id: str
    run_type: RunType
    engine: Engine | None = None
    # The validated request with every credential hidden (`RunTaskRequest.redacted`); the
    # hidden values are in `sealed_request`, readable only with the deployment's master key
    # (by the executor). Responses and the bus only ever show `request_echo`.
    request: dict[str, Any]
    request_echo: dict[str, Any]
    sealed_request: str | None = None
    # Set when parts of the request are kept in the artifact store instead of the log.
    stored_parts: StoredRequestParts | None = None
    title: str | None = None
    webhook_url: str | None = None
    api_key_id: str | None = None
    max_steps: int | None = None
    max_screenshot_scrolls: int | None = None
    browser_session_id: str | None = None
    browser_profile_id: str | None = None
    # Workflow runs only.
    workflow_id: str | None = None
    run_with: str | None = None
    ai_fallback: bool | None = None
    script_id: str | None = None
    # The script revision a code run replays.
    script_revision_id: str | None = None


class RunQueued(_Payload):
    type: Literal["RunQueued"] = "RunQueued"


class RunStarted(_Payload):
    type: Literal["RunStarted"] = "RunStarted"
    executor: str | None = None


class RunResumed(_Payload):
    """A running run picked up again (a new time slice, or after a restart)."""

    type: Literal["RunResumed"] = "RunResumed"
    reason: str
    from_checkpoint: str | None = None


class RunCancelRequested(_Payload):
    type: Literal["RunCancelRequested"] = "RunCancelRequested"
    reason: str | None = None


class _Terminal(_Payload):
    reason: str | None = None
    errors: tuple[RunError, ...] = ()
    # Model calls made after the last step (e.g. classifying a failure into the user's codes).
    usage: Usage = Usage()


class RunCompleted(_Terminal):
    type: Literal["RunCompleted"] = "RunCompleted"
    output: Any = None


class RunFailed(_Terminal):
    type: Literal["RunFailed"] = "RunFailed"


class RunTerminated(_Terminal):
    type: Literal["RunTerminated"] = "RunTerminated"


class RunTimedOut(_Terminal):
    type: Literal["RunTimedOut"] = "RunTimedOut"


class RunCanceled(_Terminal):
    type: Literal["RunCanceled"] = "RunCanceled"


# --- steps and actions --------------------------------------------------------------------


class StepStarted(_Payload):
    type: Literal["StepStarted"] = "StepStarted"
    step_id: str
    order: int
    url: str | None = None
    goal: str | None = None


class StepFinished(_Payload):
    type: Literal["StepFinished"] = "StepFinished"
    step_id: str
    status: StepStatus
    usage: Usage = Usage()
    failure_reason: str | None = None
    duration_ms: int | None = None
    # Time spent outside the model's latency (perception, execution, recording).
    overhead_ms: int | None = None


class ActionPlanned(_Payload):
    type: Literal["ActionPlanned"] = "ActionPlanned"
    step_id: str
    action_order: int
    action_type: ActionType
    tool: str
    reasoning: str | None = None
    intention: str | None = None
    element_id: str | None = None
    text: str | None = None
    option: str | None = None
    params: dict[str, Any] = Field(default_factory=dict)
    created_by: CreatedBy = "agent"


class ActionExecuted(_Payload):
    type: Literal["ActionExecuted"] = "ActionExecuted"
    step_id: str
    action_order: int
    status: ActionStatus
    summary: str
    effect: dict[str, Any] = Field(default_factory=dict)
    screenshot_artifact_id: str | None = None
    error: str | None = None
    # The element acted on (found again by a replay) and what the action was seen to do.
    target: SelectorBundle | None = None
    observed: ObservedEffect | None = None


class ThoughtRecorded(_Payload):
    """A planning note: the sub-goal checklist of skyvern-2.0, or a verifier's verdict."""

    type: Literal["ThoughtRecorded"] = "ThoughtRecorded"
    thought_id: str
    step_id: str | None = None
    thought_type: Literal["plan", "user_goal_check", "failure_describe", "termination"] = "plan"
    thought: str
    observation: str | None = None
    answer: str | None = None
    checklist: tuple[dict[str, Any], ...] = ()


class CompletionChecked(_Payload):
    type: Literal["CompletionChecked"] = "CompletionChecked"
    step_id: str | None = None
    accepted: bool
    missing: tuple[str, ...] = ()
    evidence: str | None = None


class OutputProduced(_Payload):
    type: Literal["OutputProduced"] = "OutputProduced"
    output: Any
    step_id: str | None = None
    # Where each value of the output was read on the page (what a replay reads again).
    sources: tuple[TextSource, ...] = ()


class ArtifactStored(_Payload):
    type: Literal["ArtifactStored"] = "ArtifactStored"
    artifact_id: str
    artifact_type: ArtifactType
    uri: str
    step_id: str | None = None
    checksum: str | None = None
    file_size: int | None = None
    content_type: str | None = None
    filename: str | None = None


class CheckpointSaved(_Payload):
    """Browser state and conversation saved between time slices."""

    type: Literal["CheckpointSaved"] = "CheckpointSaved"
    uri: str
    next_step_order: int


# --- workflows and code runs ------------------------------------------------------------


class WorkflowPublished(_Payload):
    """The run became a workflow (publish_workflow), or a code run's healed part became a new
    revision of its script. Written before the run's terminal event, so its view (and webhook)
    names the workflow."""

    type: Literal["WorkflowPublished"] = "WorkflowPublished"
    workflow_permanent_id: str
    script_id: str | None = None
    script_revision_id: str | None = None
    # Why no plan could be compiled (the workflow then runs with the agent).
    not_compiled: str | None = None


class ScriptFellBack(_Payload):
    """A code run's replay stopped at `failed_step` and the agent took over from that page."""

    type: Literal["ScriptFellBack"] = "ScriptFellBack"
    steps_done: int
    failed_step: int
    reason: str


# --- webhooks -----------------------------------------------------------------------------


class WebhookAttempted(_Payload):
    type: Literal["WebhookAttempted"] = "WebhookAttempted"
    delivery_id: str
    attempt: int
    url: str
    status_code: int | None = None
    error: str | None = None
    latency_ms: int | None = None
    response_body: str | None = None


class WebhookDelivered(_Payload):
    type: Literal["WebhookDelivered"] = "WebhookDelivered"
    delivery_id: str
    attempt: int
    status_code: int


class WebhookFailed(_Payload):
    type: Literal["WebhookFailed"] = "WebhookFailed"
    delivery_id: str
    attempts: int
    reason: str


EventData = Annotated[
    RunCreated
    | RunQueued
    | RunStarted
    | RunResumed
    | RunCancelRequested
    | RunCompleted
    | RunFailed
    | RunTerminated
    | RunTimedOut
    | RunCanceled
    | StepStarted
    | StepFinished
    | ActionPlanned
    | ActionExecuted
    | ThoughtRecorded
    | CompletionChecked
    | OutputProduced
    | ArtifactStored
    | CheckpointSaved
    | WorkflowPublished
    | ScriptFellBack
    | WebhookAttempted
    | WebhookDelivered
    | WebhookFailed,
    Field(discriminator="type"),
]

TerminalEvent = RunCompleted | RunFailed | RunTerminated | RunTimedOut | RunCanceled
TERMINAL_EVENT_TYPES = frozenset(t.model_fields["type"].default for t in get_args(TerminalEvent))
# What may still be appended after the run's one terminal event.
AFTER_TERMINAL_TYPES = frozenset({"ArtifactStored", "WebhookAttempted", "WebhookDelivered", "WebhookFailed"})
PAYLOAD_CLASSES: tuple[type[BaseModel], ...] = get_args(get_args(EventData)[0])
EVENT_TYPES: tuple[str, ...] = tuple(t.model_fields["type"].default for t in PAYLOAD_CLASSES)


class Event(BaseModel):
    """A stored event. `seq` starts at 1 and has no gaps within a run."""

    model_config = ConfigDict(frozen=True)

    event_id: str
    run_id: str
    seq: int = Field(ge=1)
    org_id: str
    at: datetime
    schema_version: int = SCHEMA_VERSION
    data: EventData

    @computed_field  # type: ignore[prop-decorator]
    @property
    def type(self) -> str:
        return self.data.type


class Draft(BaseModel):
    """An event to append. Give `event_id` to make the append idempotent (a retried writer
    appending the same id is a no-op), e.g. `f"{step_id}:started"`."""

    model_config = ConfigDict(frozen=True)

    data: EventData
    event_id: str | None = None


EVENT_ADAPTER: TypeAdapter[Event] = TypeAdapter(Event)
EVENT_DATA_ADAPTER: TypeAdapter[EventData] = TypeAdapter(EventData)


def decode_event(raw: str | bytes) -> Event:
    return Event.model_validate_json(raw)


def encode_event(event: Event) -> str:
    return event.model_dump_json(exclude={"type"})
