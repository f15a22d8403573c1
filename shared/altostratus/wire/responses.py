"""The JSON shapes the API answers with, as pydantic models.

Routes declare these as their return types, so every answer is checked against its model on
the way out and /openapi.json describes exactly what is sent. Field order follows the order the
renderers write keys in, so the bytes on the wire do not change; extra keys are allowed (and
kept) so a field added to a renderer is never lost before it is added here. Timestamps are
strings: Skyvern's ISO 8601 in naive UTC, which is not RFC 3339 `date-time`.
"""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from altostratus.domain.enums import ActionStatus, ActionType, ArtifactType, RunStatus

Timestamp = str
TaskRunType = Literal["task_v1", "task_v2", "openai_cua", "anthropic_cua", "ui_tars"]


class _Wire(BaseModel):
    model_config = ConfigDict(extra="allow")


# -- errors --


class ErrorBody(_Wire):
    """Every error except 422: one sentence saying what went wrong and, where it helps, what to do."""

    detail: str = Field(examples=["Task run not found tsk_v2_123"])


class FieldError(_Wire):
    type: str
    loc: list[str | int] = Field(examples=[["body", "prompt"]])
    msg: str
    input: Any = None


class ValidationErrorBody(_Wire):
    """422: one entry per field that failed, in FastAPI's shape."""

    detail: list[FieldError]


# -- runs --


class FileInfo(_Wire):
    url: str
    checksum: str | None
    filename: str | None
    file_size: int | None
    modified_at: Timestamp | None
    artifact_id: str | None


class RunErrorItem(_Wire):
    error_code: str
    reasoning: str | None = None
    confidence_float: float | None = None
    error_type: Literal["USER_DEFINED_ERROR", "SYSTEM_DEFINED_ERROR"]


class ScriptRun(_Wire):
    ai_fallback_triggered: bool | None = None
    script_id: str | None = None
    script_revision_id: str | None = None


class ModelUsage(_Wire):
    """What the run's model calls cost so far. Not in Skyvern's GetRunResponse (its SDK keeps
    unknown fields, as `run.model_usage`)."""

    input_tokens: int
    cached_input_tokens: int
    cache_write_tokens: int
    output_tokens: int
    llm_calls: int
    cost_usd: float = Field(description="US dollars, from the model's list prices (0 when not listed).")


class _RunBase(_Wire):
    run_id: str
    # Narrowed by each kind of run; declared here so it keeps its place after run_id.
    run_type: str
    status: RunStatus
    output: Any = Field(description="What the run produced: an object, a list or text.")
    downloaded_files: list[FileInfo]
    recording_url: str | None
    recording_archived: bool
    screenshot_urls: list[str] = Field(description="Signed links to the run's screenshots, newest first.")
    failure_reason: str | None
    created_at: Timestamp
    modified_at: Timestamp
    queued_at: Timestamp | None
    started_at: Timestamp | None
    finished_at: Timestamp | None
    app_url: str | None
    browser_session_id: str | None
    browser_profile_id: str | None
    max_screenshot_scrolls: int | None
    script_run: ScriptRun | None
    errors: list[RunErrorItem]
    step_count: int | None
    title: str | None
    webhook_status: str | None
    webhook_failure_reason: str | None
    model_usage: ModelUsage
    workflow_permanent_id: str | None = Field(
        default=None, description="The workflow this run published, or the workflow it is a run of."
    )


class TaskRunResponse(_RunBase):
    """A task run (TaskRunResponse / GetRunResponse in the Skyvern SDK)."""

    run_type: TaskRunType
    run_request: dict[str, Any] = Field(
        description="The request as submitted, header values and URL passwords masked."
    )


class WorkflowRunResponse(_RunBase):
    """A workflow run."""

    run_type: Literal["workflow_run"]
    run_with: str | None
    ai_fallback: bool | None
    script_id: str | None
    attempt: int
    retry_pending: bool
    run_request: dict[str, Any]


RunResponse = TaskRunResponse | WorkflowRunResponse


class RunListItem(_Wire):
    task_run_id: str
    run_id: str
    task_run_type: str
    status: RunStatus
    title: str | None
    created_at: Timestamp
    modified_at: Timestamp
    started_at: Timestamp | None
    finished_at: Timestamp | None
    workflow_permanent_id: str | None
    script_run: bool
    step_count: int | None
    failure_reason: str | None


# -- artifacts --


class Artifact(_Wire):
    artifact_id: str
    artifact_type: ArtifactType
    uri: str = Field(description="Where the artifact is stored (for reference; fetch `signed_url`).")
    signed_url: str = Field(description="An expiring link to the bytes that needs no key.")
    organization_id: str
    run_id: str
    task_id: str
    step_id: str | None
    checksum: str | None
    file_size: int | None
    content_type: str | None
    filename: str | None
    created_at: Timestamp
    modified_at: Timestamp
    archived: bool


# -- timeline --


class TimelineAction(_Wire):
    action_type: ActionType
    status: ActionStatus
    action_id: str
    step_id: str
    step_order: int
    action_order: int
    reasoning: str | None
    intention: str | None
    element_id: str | None
    text: str | None
    option: dict[str, Any] | None
    response: str | None
    screenshot_artifact_id: str | None
    organization_id: str
    task_id: str
    created_at: Timestamp
    modified_at: Timestamp
    # "script": done by a replayed plan (code), not chosen by the model ("agent").
    created_by: Literal["agent", "script"] = "agent"


class TimelineBlock(_Wire):
    workflow_run_block_id: str
    workflow_run_id: str
    organization_id: str
    block_type: Literal["task"]
    label: str
    description: str | None
    status: str
    output: Any = None
    failure_reason: str | None
    task_id: str
    url: str | None
    navigation_goal: str | None
    actions: list[TimelineAction]
    screenshot_artifact_ids: list[str]
    duration: float | None
    created_at: Timestamp
    modified_at: Timestamp


class TimelineThought(_Wire):
    thought_id: str
    task_id: str
    organization_id: str
    workflow_run_id: str | None
    thought: str | None
    observation: str | None
    answer: str | None
    thought_type: str | None
    output: dict[str, Any] | None
    created_at: Timestamp
    modified_at: Timestamp


class TimelineEntry(_Wire):
    """One AI step (`block`) or one recorded thought, in ascending `order`."""

    type: Literal["block", "thought"]
    order: int
    status: str
    block: TimelineBlock | None
    thought: TimelineThought | None
    children: list[TimelineEntry]
    created_at: Timestamp
    modified_at: Timestamp


# -- webhooks --


class RetryWebhookBody(_Wire):
    """Optional body of retry_run_webhook; without it the run's own webhook_url is used."""

    webhook_url: str | None = Field(default=None, examples=["https://hooks.example.com/skyvern"])


class WebhookReplayReport(_Wire):
    """What one synchronous, signed replay of the run's webhook did."""

    run_id: str
    run_type: str
    default_webhook_url: str | None
    target_webhook_url: str | None
    payload: str = Field(description="The exact body that was signed and sent.")
    headers: dict[str, str]
    status_code: int | None
    latency_ms: int | None
    response_body: str | None
    error: str | None = Field(
        description="Why the receiver could not be reached or refused; null on success."
    )


# -- server --


class OrganizationInfo(_Wire):
    """The organization the calling API key belongs to (the fields of Skyvern's Organization
    that this deployment keeps)."""

    organization_id: str
    organization_name: str
    created_at: Timestamp
    modified_at: Timestamp


class ServerVersion(_Wire):
    version: str = Field(examples=["0.1.0"])
