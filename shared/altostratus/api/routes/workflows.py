"""/v1/agents, /v1/run/agents and /v1/scripts: published workflows, their runs and their scripts.

A workflow is made by a run submitted with `publish_workflow` (when it completes); running it
with `run_with="code"` replays its script's plan with no model, and the agent takes over where
the replay stops when `ai_fallback` allows. Script files are stored and handed out, never run
on the server: `run_script` answers 400 like Skyvern's open-source server.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import json
import mimetypes
from typing import Annotated, Any

from aws_lambda_powertools.event_handler.api_gateway import Router
from aws_lambda_powertools.event_handler.openapi.params import Body, Header, Query
from pydantic import ValidationError

from altostratus.api.auth import caller
from altostratus.api.errors import BadRequestError, NotFoundError, UnprocessableError, validation_details
from altostratus.api.openapi import AUTH_ERRORS, BODY_ERRORS, responses
from altostratus.api.paging import PageNumber, PageSize
from altostratus.api.services import ApiServices
from altostratus.api.session_access import check_open_session
from altostratus.domain import lifecycle
from altostratus.domain import workflows as w
from altostratus.domain.replay.plan import ReplayPlan
from altostratus.domain.run_request import RunTaskRequest
from altostratus.domain.view import RunView
from altostratus.ports.errors import StoreUnavailableError
from altostratus.ports.workflow_log import WorkflowLog
from altostratus.wire.render import run_response
from altostratus.wire.responses import WorkflowRunResponse
from altostratus.wire.workflows import (
    CreateScriptBody,
    CreateScriptResponse,
    DeployScriptBody,
    RunWorkflowBody,
    ScriptFileBody,
    ScriptResponse,
    WorkflowResponse,
    created_script_response,
    script_response,
    workflow_response,
)

NOT_STARTED = "The run could not be started: the orchestration service was unavailable. Submit it again."
NOT_IMPLEMENTED = "Not implemented"
# How many of an organization's workflows a filtered listing looks through.
_FILTER_WINDOW = 1000


def workflows_router(services: ApiServices) -> Router:
    router = Router()

    def store() -> WorkflowLog:
        if services.workflows is None:
            raise NotFoundError("Workflows are not available on this deployment.")
        return services.workflows

    def own_workflow(workflow_permanent_id: str) -> w.WorkflowView:
        view = store().workflow(workflow_permanent_id)
        if view is None or view.org_id != caller(router).org_id:
            raise NotFoundError(w.workflow_not_found(workflow_permanent_id))
        return view

    def own_script(script_id: str) -> w.ScriptView:
        view = store().script(script_id)
        if view is None or view.org_id != caller(router).org_id:
            raise NotFoundError(w.script_not_found(script_id))
        return view

    # -- workflows --

    @router.get(
        "/v1/agents",
        summary="List workflows, newest first",
        description="The organization's published workflows. `search_key` (or `title`) matches the "
        "title; templates and saved tasks are not kept here, so asking only for them lists none.",
        tags=["workflows"],
        operation_id="get_workflows",
        responses=responses("One page of workflows.", *AUTH_ERRORS),
    )
    def get_workflows(
        page: PageNumber = 1,
        page_size: PageSize = 10,
        only_saved_tasks: Annotated[bool, Query()] = False,
        only_workflows: Annotated[bool, Query()] = False,
        only_templates: Annotated[bool, Query()] = False,
        search_key: Annotated[str | None, Query()] = None,
        title: Annotated[str | None, Query()] = None,
        folder_id: Annotated[str | None, Query()] = None,
        status: Annotated[list[str] | None, Query()] = None,
        tags: Annotated[list[str] | None, Query()] = None,
        template: Annotated[bool, Query()] = False,
    ) -> list[WorkflowResponse]:
        if only_saved_tasks or only_templates or template or folder_id or tags:
            return []
        org = caller(router).org_id
        search = (search_key or title or "").casefold()
        wanted = set(status or ())
        if not search and not wanted:
            listed = store().list_workflows(org, offset=(page - 1) * page_size, limit=page_size)
        else:
            matching = [
                v
                for v in store().list_workflows(org, limit=_FILTER_WINDOW)
                if search in v.spec.title.casefold() and (not wanted or v.status in wanted)
            ]
            listed = matching[(page - 1) * page_size : page * page_size]
        return [workflow_response(v) for v in listed]

    @router.get(
        "/v1/agents/<workflow_permanent_id>",
        summary="Get a workflow",
        tags=["workflows"],
        operation_id="get_workflow",
        responses=responses("The workflow.", *AUTH_ERRORS, 404),
    )
    def get_workflow(
        workflow_permanent_id: str,
        version: Annotated[int | None, Query(ge=1)] = None,
        template: Annotated[bool, Query()] = False,
    ) -> WorkflowResponse:
        view = own_workflow(workflow_permanent_id)
        if template or (version is not None and version != 1):
            raise NotFoundError(w.workflow_not_found(workflow_permanent_id))
        return workflow_response(view)

    # -- workflow runs --

    def task_request(
        workflow: w.WorkflowView, body: RunWorkflowBody, max_steps: int | None
    ) -> RunTaskRequest:
        spec = workflow.spec
        parameters = body.parameters or {}
        submitted = {
            "prompt": w.goal_with_parameters(spec.goal, parameters),
            "url": spec.url,
            "engine": spec.engine,
            "title": body.title or spec.title,
            "data_extraction_schema": spec.data_extraction_schema,
            "error_code_mapping": spec.error_code_mapping,
            "max_steps": max_steps or spec.max_steps,
            "proxy_location": body.proxy_location,
            "webhook_url": body.webhook_url,
            "totp_url": body.totp_url,
            "totp_identifier": body.totp_identifier or spec.totp_identifier,
            "browser_session_id": body.browser_session_id,
            "max_screenshot_scrolls": body.max_screenshot_scrolls,
            "extra_http_headers": body.extra_http_headers,
            "cdp_connect_headers": body.cdp_connect_headers,
            "browser_address": body.browser_address,
            "model": body.model,
        }
        try:
            return RunTaskRequest.model_validate(submitted)
        except ValidationError as exc:
            details = validation_details([{**e, "loc": ["body", *e["loc"]]} for e in exc.errors()])
            raise UnprocessableError(details) from exc

    def check_parameters(workflow: w.WorkflowView, parameters: dict[str, Any]) -> None:
        known = {p.key for p in workflow.spec.parameters}
        unknown = sorted(set(parameters) - known)
        if unknown:
            names = ", ".join(sorted(known)) or "none"
            raise BadRequestError(
                f"Unknown parameter(s) for workflow {workflow.workflow_permanent_id}: "
                f"{', '.join(unknown)}; its parameters are: {names}."
            )
        for key, value in parameters.items():
            if value is not None and not isinstance(value, str | int | float | bool):
                raise BadRequestError(f"Parameter {key!r} must be a string, a number or a boolean.")

    def answer(view: RunView) -> WorkflowRunResponse:
        app_url = services.config.app_base(router.current_event.raw_event)
        return WorkflowRunResponse.model_validate(run_response(view, services.artifacts, app_url=app_url))

    @router.post(
        "/v1/run/agents",
        summary="Run a workflow",
        description='`run_with="code"` replays the workflow\'s script with no model; where a step '
        "cannot be replayed, the agent takes over from that page when `ai_fallback` is true (the "
        "default), else the run fails naming the step. Null inherits the workflow's `run_with`.",
        tags=["workflows"],
        operation_id="run_workflow",
        responses=responses(
            "The workflow run (`wr_`), created and queued.",
            *BODY_ERRORS,
            *AUTH_ERRORS,
            404,
            overrides={
                400: "The body is not JSON, names unknown parameters, asks for code on a workflow "
                "without a script, or asks for something this deployment cannot run.",
                404: "The workflow or the browser session does not exist or belongs to another organization.",
            },
        ),
    )
    def run_workflow(
        body: Annotated[RunWorkflowBody, Body()],
        template: Annotated[bool, Query()] = False,
        x_max_steps_override: Annotated[
            int | None, Header(alias="x-max-steps-override", description="The run's step budget.")
        ] = None,
    ) -> WorkflowRunResponse:
        wpid = body.agent_id or body.workflow_id
        if not wpid:
            raise BadRequestError("Name the workflow to run: agent_id (or workflow_id), a wpid_ id.")
        workflow = own_workflow(wpid)
        if template:
            raise NotFoundError(w.workflow_not_found(wpid))
        parameters = dict(body.parameters or {})
        check_parameters(workflow, parameters)
        if x_max_steps_override is not None and x_max_steps_override < 1:
            raise BadRequestError("x-max-steps-override must be at least 1.")
        run_with = w.normalize_run_with(body.run_with) or workflow.run_with
        ai_fallback = workflow.ai_fallback if body.ai_fallback is None else body.ai_fallback
        revision_id = None
        if run_with == "code":
            script = store().script(workflow.script_id) if workflow.script_id else None
            if script is None or script.latest is None or script.latest.file(w.PLAN_PATH) is None:
                raise BadRequestError(
                    f"Workflow {wpid} has no script with a replay plan to run as code; run it with "
                    "run_with='agent'."
                )
            revision_id = script.latest.script_revision_id
        request = task_request(workflow, body, x_max_steps_override)
        if request.browser_session_id is not None:
            check_open_session(services, caller(router).org_id, request.browser_session_id)
        for check in services.submission_checks:
            check(request)
        principal = caller(router)
        run_id = services.ids.new("wr")
        parts = request.secret_parts()
        sealed = services.secret_box.seal(json.dumps(parts), context=run_id) if parts else None
        drafts = lifecycle.create_workflow_run(
            request,
            org_id=principal.org_id,
            api_key_id=principal.key_id,
            workflow_permanent_id=wpid,
            parameters=parameters,
            run_with=run_with,
            ai_fallback=ai_fallback,
            script_id=workflow.script_id,
            script_revision_id=revision_id,
            sealed_request=sealed,
        )
        services.event_log.append(run_id, drafts)
        if services.orchestrator is not None:
            try:
                services.orchestrator.start(run_id)
            except StoreUnavailableError:
                services.event_log.append(run_id, lifecycle.fail(run_id, NOT_STARTED))
        view = services.event_log.get_view(run_id)
        assert view is not None
        return answer(view)

    # -- scripts --

    def stored_files(
        script_id: str, files: list[ScriptFileBody], previous: tuple[w.ScriptFile, ...] = ()
    ) -> tuple[w.ScriptFile, ...]:
        """The submitted files stored as artifacts, over the previous revision's others."""
        if len(files) > w.MAX_FILES:
            raise BadRequestError(f"A script has at most {w.MAX_FILES} files; {len(files)} were sent.")
        org = caller(router).org_id
        now = store().now()
        decoded: dict[str, tuple[bytes, str]] = {}
        for file in files:
            try:
                path = w.normalize_path(file.path)
            except w.ScriptFileError as exc:
                raise BadRequestError(str(exc)) from exc
            if (file.encoding or "base64").lower() == "utf-8":
                data = file.content.encode()
            else:
                try:
                    data = base64.b64decode(file.content, validate=True)
                except (binascii.Error, ValueError) as exc:
                    raise BadRequestError(f"File {path!r}: content is not valid base64.") from exc
            if len(data) > w.MAX_FILE_BYTES:
                raise BadRequestError(f"File {path!r} is larger than {w.MAX_FILE_BYTES // (1024 * 1024)} MB.")
            if path == w.PLAN_PATH:
                try:
                    ReplayPlan.from_json(data)
                except ValueError as exc:
                    raise BadRequestError(f"{w.PLAN_PATH} is not a valid replay plan: {exc}") from exc
            mime = file.mime_type or mimetypes.guess_type(path)[0] or "text/plain"
            decoded[path] = (data, mime)
        kept = [f for f in previous if f.path not in decoded]
        made = []
        for path, (data, mime) in decoded.items():
            artifact_id = services.ids.new("a")
            uri = services.artifacts.put(
                f"{org}/scripts/{script_id}/{artifact_id}/{path}", data, content_type=mime
            )
            made.append(
                w.ScriptFile(
                    path=path,
                    artifact_id=artifact_id,
                    uri=uri,
                    size=len(data),
                    content_hash=f"sha256:{hashlib.sha256(data).hexdigest()}",
                    mime_type=mime,
                    created_at=now,
                )
            )
        return (*kept, *made)

    @router.get(
        "/v1/scripts",
        summary="List scripts, newest first",
        tags=["scripts"],
        operation_id="get_scripts",
        responses=responses(
            "One page of the organization's scripts (each at its newest revision).", *AUTH_ERRORS
        ),
    )
    def get_scripts(page: PageNumber = 1, page_size: PageSize = 10) -> list[ScriptResponse]:
        listed = store().list_scripts(caller(router).org_id, offset=(page - 1) * page_size, limit=page_size)
        return [script_response(v) for v in listed]

    @router.post(
        "/v1/scripts",
        summary="Create a script",
        description="Files are base64-encoded; `plan.json` must be a valid replay plan. Files are "
        "stored, never executed.",
        tags=["scripts"],
        operation_id="create_script",
        responses=responses(
            "The script at version 1.",
            *BODY_ERRORS,
            *AUTH_ERRORS,
            404,
            overrides={
                400: "A file's path, size, kind or encoding is refused, or plan.json is not a plan.",
                404: "The workflow or run does not exist or belongs to another organization.",
            },
        ),
    )
    def create_script(body: Annotated[CreateScriptBody, Body()]) -> CreateScriptResponse:
        org = caller(router).org_id
        if body.workflow_id:
            own_workflow(body.workflow_id)
        if body.run_id:
            run = services.event_log.get_view(body.run_id)
            if run is None or run.org_id != org:
                raise NotFoundError(f"Run not found {body.run_id}")
        script_id = services.ids.new(w.SCRIPT_PREFIX)
        files = stored_files(script_id, body.files or [])
        created = w.ScriptCreated(org_id=org, workflow_permanent_id=body.workflow_id, run_id=body.run_id)
        revision = w.ScriptRevisionAdded(
            script_revision_id=services.ids.new(w.REVISION_PREFIX), version=1, files=files, run_id=body.run_id
        )
        view = store().append(script_id, [created, revision])
        assert isinstance(view, w.ScriptView)
        return created_script_response(view)

    @router.get(
        "/v1/scripts/<script_id>",
        summary="Get a script",
        tags=["scripts"],
        operation_id="get_script",
        responses=responses("The script at its newest revision.", *AUTH_ERRORS, 404),
    )
    def get_script(script_id: str) -> ScriptResponse:
        return script_response(own_script(script_id))

    @router.post(
        "/v1/scripts/<script_id>/deploy",
        summary="Deploy a new revision of a script",
        description="The files sent replace those of the same path; the others are kept. The new "
        "revision is what the workflow's next code run replays.",
        tags=["scripts"],
        operation_id="deploy_script",
        responses=responses(
            "The script at its new version.",
            *BODY_ERRORS,
            *AUTH_ERRORS,
            404,
            overrides={400: "A file's path, size, kind or encoding is refused, or plan.json is not a plan."},
        ),
    )
    def deploy_script(script_id: str, body: Annotated[DeployScriptBody, Body()]) -> CreateScriptResponse:
        script = own_script(script_id)
        latest = script.latest
        files = stored_files(script_id, body.files, latest.files if latest else ())
        revision = w.ScriptRevisionAdded(
            script_revision_id=services.ids.new(w.REVISION_PREFIX),
            version=(latest.version if latest else 0) + 1,
            files=files,
            run_id=script.run_id,
        )
        view = store().append(script_id, [revision])
        assert isinstance(view, w.ScriptView)
        return created_script_response(view)

    @router.post(
        "/v1/scripts/<script_id>/run",
        summary="Run a script (not implemented)",
        description="Scripts are not executed on the server (as in Skyvern's open-source server): "
        'run the workflow with `run_with="code"` instead, which replays its plan.',
        tags=["scripts"],
        operation_id="run_script",
        responses=responses(
            "Never answered: scripts are not run on the server.",
            *AUTH_ERRORS,
            400,
            404,
            overrides={
                400: "Always: `Not implemented`.",
                404: "The path names no route (an empty script id).",
            },
        ),
        openapi_extensions={"x-fern-sdk-method-name": "run_script", "x-fern-sdk-group-name": "scripts"},
    )
    def run_script(script_id: str) -> None:
        raise BadRequestError(NOT_IMPLEMENTED)

    return router
