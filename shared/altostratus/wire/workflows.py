"""The workflow and script JSON the API reads and answers, in Skyvern's shapes: `Workflow`,
`Script`, `CreateScriptResponse` and the `run_workflow` body."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from altostratus.domain import workflows as w
from altostratus.domain.run_request import ModelChoice, ProxyLocation
from altostratus.wire.render import wire_time

Timestamp = str


class _Wire(BaseModel):
    model_config = ConfigDict(extra="allow")


# -- requests --


class RunWorkflowBody(BaseModel):
    """`POST /v1/run/agents` (the SDK's `run_workflow`)."""

    model_config = ConfigDict(extra="ignore")

    agent_id: str | None = Field(default=None, description="The workflow to run (`wpid_`).")
    workflow_id: str | None = Field(default=None, description="An alias of `agent_id`.")
    parameters: dict[str, Any] | None = Field(
        default=None, description="Values of the workflow's parameters; the others keep their defaults."
    )
    title: str | None = None
    proxy_location: ProxyLocation | None = None
    webhook_url: str | None = None
    totp_url: str | None = None
    totp_identifier: str | None = None
    browser_session_id: str | None = None
    browser_profile_id: str | None = None
    max_screenshot_scrolls: int | None = None
    max_elapsed_time_minutes: int | None = None
    extra_http_headers: dict[str, str | None] | None = None
    cdp_connect_headers: dict[str, str | None] | None = None
    browser_address: str | None = None
    ai_fallback: bool | None = Field(
        default=None, description="When the replay of a code run stops, the agent takes over (default)."
    )
    run_with: str | None = Field(
        default=None, description='"code" or "agent"; null: the workflow\'s own setting.'
    )
    run_metadata: dict[str, str | None] | None = None
    model: ModelChoice | None = None


class ScriptFileBody(BaseModel):
    model_config = ConfigDict(extra="ignore")

    path: str = Field(description="The file's path relative to the script's root.")
    content: str = Field(description="The file's bytes, base64-encoded.")
    encoding: str | None = "base64"
    mime_type: str | None = None


class CreateScriptBody(BaseModel):
    model_config = ConfigDict(extra="ignore")

    workflow_id: str | None = None
    run_id: str | None = None
    files: list[ScriptFileBody] | None = None


class DeployScriptBody(BaseModel):
    model_config = ConfigDict(extra="ignore")

    files: list[ScriptFileBody]


# -- responses --


class ScriptResponse(_Wire):
    script_revision_id: str
    script_id: str
    organization_id: str
    run_id: str | None
    version: int
    created_at: Timestamp
    modified_at: Timestamp
    deleted_at: Timestamp | None = None


class FileNode(_Wire):
    type: str
    size: int | None = None
    mime_type: str | None = None
    content_hash: str | None = None
    created_at: Timestamp
    children: dict[str, Any] | None = None


class CreateScriptResponse(_Wire):
    script_id: str
    version: int
    run_id: str | None
    file_count: int
    file_tree: dict[str, FileNode]
    created_at: Timestamp


class WorkflowResponse(_Wire):
    workflow_id: str
    organization_id: str
    title: str
    workflow_permanent_id: str
    agent_id: str
    version: int
    is_saved_task: bool
    is_template: bool
    description: str | None
    workflow_definition: dict[str, Any]
    proxy_location: Any = None
    webhook_callback_url: str | None = None
    totp_identifier: str | None = None
    status: str
    run_with: str | None
    ai_fallback: bool | None
    max_screenshot_scrolls: int | None = None
    created_at: Timestamp
    modified_at: Timestamp
    deleted_at: Timestamp | None = None
    # This deployment's own: the script a code run replays, and the run it was published from.
    script_id: str | None = None
    source_run_id: str | None = None


def script_response(view: w.ScriptView) -> ScriptResponse:
    latest = view.latest
    return ScriptResponse(
        script_revision_id=latest.script_revision_id if latest else "",
        script_id=view.script_id,
        organization_id=view.org_id,
        run_id=view.run_id,
        version=latest.version if latest else 0,
        created_at=wire_time(view.created_at) or "",
        modified_at=wire_time(view.modified_at) or "",
    )


def file_tree(files: tuple[w.ScriptFile, ...]) -> dict[str, FileNode]:
    """Skyvern's nested tree: a directory node per path segment, a file node at each leaf."""
    tree: dict[str, Any] = {}
    for file in files:
        *dirs, name = file.path.split("/")
        level = tree
        for part in dirs:
            node = level.setdefault(
                part, {"type": "directory", "created_at": wire_time(file.created_at), "children": {}}
            )
            level = node["children"]
        level[name] = {
            "type": "file",
            "size": file.size,
            "mime_type": file.mime_type,
            "content_hash": file.content_hash,
            "created_at": wire_time(file.created_at),
        }
    return {name: FileNode.model_validate(node) for name, node in tree.items()}


def created_script_response(view: w.ScriptView) -> CreateScriptResponse:
    latest = view.latest
    files = latest.files if latest else ()
    return CreateScriptResponse(
        script_id=view.script_id,
        version=latest.version if latest else 0,
        run_id=view.run_id,
        file_count=len(files),
        file_tree=file_tree(files),
        created_at=wire_time(latest.created_at if latest else view.created_at) or "",
    )


def workflow_response(view: w.WorkflowView) -> WorkflowResponse:
    created = wire_time(view.created_at) or ""
    modified = wire_time(view.modified_at) or ""
    spec = view.spec
    parameters = [
        {
            "parameter_type": "workflow",
            "key": p.key,
            "description": p.description,
            "workflow_parameter_id": f"wp_{view.workflow_permanent_id}_{n}",
            "workflow_parameter_type": p.parameter_type,
            "workflow_id": view.workflow_id,
            "default_value": p.default_value,
            "created_at": created,
            "modified_at": created,
        }
        for n, p in enumerate(spec.parameters, start=1)
    ]
    block = {
        "block_type": "task",
        "label": "task_1",
        "output_parameter": {
            "key": "task_1_output",
            "output_parameter_id": f"op_{view.workflow_permanent_id}_1",
            "workflow_id": view.workflow_id,
            "created_at": created,
            "modified_at": created,
        },
        "url": spec.url,
        "title": spec.title,
        "engine": spec.engine,
        "navigation_goal": spec.goal,
        "data_schema": spec.data_extraction_schema,
        "error_code_mapping": spec.error_code_mapping,
        "max_steps_per_run": spec.max_steps,
        "totp_identifier": spec.totp_identifier,
        "parameters": [],
    }
    return WorkflowResponse(
        workflow_id=view.workflow_id,
        organization_id=view.org_id,
        title=spec.title,
        workflow_permanent_id=view.workflow_permanent_id,
        agent_id=view.workflow_permanent_id,
        version=1,
        is_saved_task=False,
        is_template=False,
        description=None,
        workflow_definition={"version": 1, "parameters": parameters, "blocks": [block]},
        totp_identifier=spec.totp_identifier,
        status=view.status,
        run_with=view.run_with,
        ai_fallback=view.ai_fallback,
        created_at=created,
        modified_at=modified,
        script_id=view.script_id,
        source_run_id=view.source_run_id,
    )
