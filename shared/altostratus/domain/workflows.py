"""Workflows and their scripts: two aggregates of their own, made of events like a run.

A workflow (`wpid_`) is what a published run leaves behind: the goal, start page, output
schema and parameters a later run is started with, how it runs by default (`run_with`,
`ai_fallback`) and the script (`s_`) that replays it. A script is a sequence of revisions
(`sr_`), each a set of files stored as artifacts; the newest revision is the one a code run
replays. Files are stored and handed out, never executed: only a replay plan (`plan.json`) is
interpreted, by a fixed executor.
"""

from __future__ import annotations

import posixpath
from datetime import datetime
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, TypeAdapter

from altostratus.domain.errors import DomainError

WORKFLOW_PREFIX = "wpid"
WORKFLOW_VERSION_PREFIX = "w"
SCRIPT_PREFIX = "s"
REVISION_PREFIX = "sr"
PLAN_PATH = "plan.json"
EXPORT_PATH = "main.py"
MAX_FILE_BYTES = 10 * 1024 * 1024
MAX_FILES = 100
# Executable or archive files a script revision does not take (it is code to read, not run).
BLOCKED_EXTENSIONS = frozenset({".exe", ".dll", ".so", ".dylib", ".bat", ".cmd", ".com", ".msi", ".sh"})
RunWith = Literal["agent", "code"]


def workflow_not_found(workflow_permanent_id: str) -> str:
    return f"Workflow not found {workflow_permanent_id}"


def script_not_found(script_id: str) -> str:
    return f"Script not found {script_id}"


def normalize_run_with(value: str | None) -> RunWith | None:
    """Skyvern's spellings: "ai" is the agent, "code_v2" is code; anything else is the agent."""
    if value is None:
        return None
    text = value.strip().lower()
    if text in ("code", "code_v2"):
        return "code"
    return "agent"


class WorkflowError(DomainError):
    def __init__(self, aggregate_id: str, message: str) -> None:
        super().__init__(message)
        self.aggregate_id = aggregate_id
        self.message = message


class ScriptFileError(DomainError):
    """A submitted script file the deployment does not keep (its path, size or kind)."""


def normalize_path(path: str) -> str:
    """A file path relative to the script's root; raises ScriptFileError for one that leaves it."""
    text = path.strip().replace("\\", "/")
    if not text or text.startswith("/") or "\x00" in text:
        raise ScriptFileError(f"File path {path[:200]!r} must be a non-empty path relative to the script")
    clean = posixpath.normpath(text)
    if clean == "." or clean.startswith("../") or clean == "..":
        raise ScriptFileError(f"File path {path[:200]!r} leaves the script's directory")
    if posixpath.splitext(clean)[1].lower() in BLOCKED_EXTENSIONS:
        raise ScriptFileError(f"File {clean!r}: this kind of file is not accepted in a script")
    return clean


# --- events ------------------------------------------------------------------------------


class _Payload(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class WorkflowParameter(_Payload):
    """A value a run of the workflow may set; its default is what the published run typed."""

    key: str
    parameter_type: Literal["string", "integer", "float", "boolean", "json"] = "string"
    default_value: Any = None
    description: str | None = None


class WorkflowSpec(_Payload):
    """What a run of the workflow is started with."""

    title: str
    goal: str
    url: str | None = None
    data_extraction_schema: Any = None
    error_code_mapping: dict[str, str | None] | None = None
    parameters: tuple[WorkflowParameter, ...] = ()
    max_steps: int | None = None
    engine: str = "skyvern-2.0"
    # Who the run's one-time codes are pushed for, unless a run names its own (the source run's
    # totp_url is not kept: it may carry credentials).
    totp_identifier: str | None = None


class WorkflowCreated(_Payload):
    type: Literal["WorkflowCreated"] = "WorkflowCreated"
    org_id: str
    # The id of this version of the definition (`w_`), as Skyvern distinguishes it from the wpid.
    workflow_id: str
    spec: WorkflowSpec
    status: Literal["published", "draft", "auto_generated"] = "published"
    run_with: RunWith = "agent"
    ai_fallback: bool = True
    source_run_id: str | None = None


class WorkflowScriptAttached(_Payload):
    """The workflow replays this script from now on (and, when `run_with` is set, by default so)."""

    type: Literal["WorkflowScriptAttached"] = "WorkflowScriptAttached"
    script_id: str
    run_with: RunWith | None = None


class ScriptFile(_Payload):
    path: str
    artifact_id: str
    uri: str
    size: int
    content_hash: str
    mime_type: str
    created_at: datetime


class ScriptCreated(_Payload):
    type: Literal["ScriptCreated"] = "ScriptCreated"
    org_id: str
    workflow_permanent_id: str | None = None
    run_id: str | None = None


class ScriptRevisionAdded(_Payload):
    type: Literal["ScriptRevisionAdded"] = "ScriptRevisionAdded"
    script_revision_id: str
    version: int
    files: tuple[ScriptFile, ...]
    # The run it was compiled from (None: uploaded).
    run_id: str | None = None
    # Why it was made: published from a run, healed by the agent, uploaded.
    origin: Literal["published", "healed", "uploaded"] = "uploaded"


CatalogEventData = Annotated[
    WorkflowCreated | WorkflowScriptAttached | ScriptCreated | ScriptRevisionAdded,
    Field(discriminator="type"),
]


class CatalogEvent(BaseModel):
    """A stored event of a workflow or a script (`aggregate_id` is its wpid_ or s_ id)."""

    model_config = ConfigDict(frozen=True)

    aggregate_id: str
    seq: int
    at: datetime
    data: CatalogEventData


CATALOG_EVENT_ADAPTER: TypeAdapter[CatalogEvent] = TypeAdapter(CatalogEvent)


# --- views -------------------------------------------------------------------------------


class WorkflowView(BaseModel):
    model_config = ConfigDict(frozen=True)

    kind: Literal["workflow"] = "workflow"
    workflow_permanent_id: str
    workflow_id: str
    org_id: str
    version: int
    spec: WorkflowSpec
    status: str
    run_with: RunWith
    ai_fallback: bool
    script_id: str | None = None
    source_run_id: str | None = None
    created_at: datetime
    modified_at: datetime

    @property
    def aggregate_id(self) -> str:
        return self.workflow_permanent_id


class ScriptRevision(BaseModel):
    model_config = ConfigDict(frozen=True)

    script_revision_id: str
    version: int
    files: tuple[ScriptFile, ...]
    run_id: str | None
    origin: str
    created_at: datetime

    def file(self, path: str) -> ScriptFile | None:
        return next((f for f in self.files if f.path == path), None)


class ScriptView(BaseModel):
    model_config = ConfigDict(frozen=True)

    kind: Literal["script"] = "script"
    script_id: str
    org_id: str
    version: int
    workflow_permanent_id: str | None = None
    run_id: str | None = None
    revisions: tuple[ScriptRevision, ...] = ()
    created_at: datetime
    modified_at: datetime

    @property
    def aggregate_id(self) -> str:
        return self.script_id

    @property
    def latest(self) -> ScriptRevision | None:
        return self.revisions[-1] if self.revisions else None


CatalogView = WorkflowView | ScriptView


def apply(view: CatalogView | None, event: CatalogEvent) -> CatalogView:
    data = event.data
    if view is None:
        if isinstance(data, WorkflowCreated):
            return WorkflowView(
                workflow_permanent_id=event.aggregate_id,
                workflow_id=data.workflow_id,
                org_id=data.org_id,
                version=event.seq,
                spec=data.spec,
                status=data.status,
                run_with=data.run_with,
                ai_fallback=data.ai_fallback,
                source_run_id=data.source_run_id,
                created_at=event.at,
                modified_at=event.at,
            )
        if isinstance(data, ScriptCreated):
            return ScriptView(
                script_id=event.aggregate_id,
                org_id=data.org_id,
                version=event.seq,
                workflow_permanent_id=data.workflow_permanent_id,
                run_id=data.run_id,
                created_at=event.at,
                modified_at=event.at,
            )
        raise WorkflowError(event.aggregate_id, f"{data.type} before {event.aggregate_id} was created")
    if event.seq != view.version + 1:
        raise WorkflowError(event.aggregate_id, f"seq {event.seq} does not follow {view.version}")
    update: dict[str, Any] = {"version": event.seq, "modified_at": event.at}
    if isinstance(view, WorkflowView) and isinstance(data, WorkflowScriptAttached):
        update["script_id"] = data.script_id
        if data.run_with is not None:
            update["run_with"] = data.run_with
    elif isinstance(view, ScriptView) and isinstance(data, ScriptRevisionAdded):
        expected = (view.latest.version if view.latest else 0) + 1
        if data.version != expected:
            raise WorkflowError(
                view.script_id, f"revision version {data.version} does not follow {expected - 1}"
            )
        revision = ScriptRevision(
            script_revision_id=data.script_revision_id,
            version=data.version,
            files=data.files,
            run_id=data.run_id,
            origin=data.origin,
            created_at=event.at,
        )
        update["revisions"] = (*view.revisions, revision)
        if data.run_id is not None:
            update["run_id"] = data.run_id
    else:
        raise WorkflowError(event.aggregate_id, f"{data.type} does not apply to a {view.kind}")
    return view.model_copy(update=update)


def fold(events: list[CatalogEvent]) -> CatalogView | None:
    view: CatalogView | None = None
    for event in events:
        view = apply(view, event)
    return view


def fallback_note(steps_done: int, reason: str | None) -> str:
    """What the agent is told when it takes over a code run from the page the replay left."""
    done = f"Steps 1..{steps_done} of the recorded script are done" if steps_done else "No step is done yet"
    why = f" (the replay stopped: {reason})" if reason else ""
    return (
        f"{done}{why}. The browser is on the page the replay reached: carry on from there to "
        "finish the goal, without starting over."
    )


def goal_with_parameters(goal: str, parameters: dict[str, Any] | None) -> str:
    """The workflow's goal for the agent, with the values this run was given."""
    if not parameters:
        return goal
    values = "\n".join(f"- {key}: {value}" for key, value in parameters.items())
    return f"{goal}\n\nUse these values for this run (they replace the ones in the goal above):\n{values}"
