"""/v1/run/tasks and /v1/runs/...: submit, read, cancel, timeline, artifacts, webhook replay."""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Annotated, Any, cast

from aws_lambda_powertools.event_handler import Response, content_types
from aws_lambda_powertools.event_handler.api_gateway import Router
from aws_lambda_powertools.event_handler.openapi.params import Body, Header, Query
from aws_lambda_powertools.utilities.idempotency import IdempotencyConfig, idempotent_function
from pydantic import BaseModel, ConfigDict, ValidationError

from altostratus.api.auth import caller
from altostratus.api.errors import BadRequestError, NotFoundError
from altostratus.api.render import artifact_response, run_response, timeline_response, wire_time
from altostratus.api.resolver import raw_body
from altostratus.api.services import ApiServices
from altostratus.domain import commands
from altostratus.domain import events as ev
from altostratus.domain.enums import ArtifactType, Engine, RunStatus, RunType
from altostratus.domain.errors import RunAlreadyFinishedError
from altostratus.domain.run_request import RunTaskRequest, check_http_url
from altostratus.domain.timeline import timeline
from altostratus.domain.view import RunView
from altostratus.ports.errors import StoreUnavailableError
from altostratus.ports.event_log import InvalidCursorError, RunQuery

if TYPE_CHECKING:
    from aws_lambda_powertools.utilities.typing import LambdaContext

IDEMPOTENCY_WINDOW_S = 24 * 3600
NOT_STARTED = "The run could not be started: the orchestration service was unavailable. Submit it again."
NEXT_CURSOR_HEADER = "x-next-cursor"
CURSOR_HELP = (
    "Where to start: the x-next-cursor header of the previous page. Pages read this way do not "
    "shift when new runs are submitted meanwhile."
)


class RetryWebhookRequest(BaseModel):
    model_config = ConfigDict(extra="ignore")
    webhook_url: str | None = None


class _LocalContext:
    """What Powertools idempotency reads off a Lambda context outside Lambda: the time left,
    which bounds how long an interrupted submission keeps its key locked."""

    def get_remaining_time_in_millis(self) -> int:
        return 30_000


def not_found(run_id: str) -> NotFoundError:
    kind = "Workflow run" if run_id.startswith("wr_") else "Task run"
    return NotFoundError(f"{kind} not found {run_id}")


def runs_router(services: ApiServices) -> Router:
    router = Router()
    log = services.event_log

    def own_view(run_id: str) -> RunView:
        view = log.get_view(run_id)
        # Another organization's run is reported exactly like a run that does not exist.
        if view is None or view.org_id != caller(router).org_id:
            raise not_found(run_id)
        return view

    def check_can_run(request: RunTaskRequest) -> None:
        if not request.engine.is_supported:
            supported = ", ".join(e.value for e in Engine if e.is_supported)
            raise BadRequestError(
                f"The engine {request.engine.value!r} is not available on this deployment; "
                f"use one of {supported}."
            )
        if request.publish_workflow:
            raise BadRequestError("publish_workflow is not supported on this deployment yet.")
        if request.run_with == "code":
            raise BadRequestError("run_with='code' needs a published workflow; task runs use the agent.")
        if request.browser_session_id is not None:
            raise BadRequestError(
                f"Browser session {request.browser_session_id} is not available: this deployment has no "
                "persistent browser sessions."
            )
        for check in services.submission_checks:
            check(request)

    def create(request: RunTaskRequest) -> str:
        principal = caller(router)
        run_id = services.ids.new(request.engine.run_type.id_prefix)
        drafts = commands.create_task_run(request, org_id=principal.org_id, api_key_id=principal.key_id)
        log.append(run_id, drafts)
        if services.orchestrator is not None:
            try:
                services.orchestrator.start(run_id)
            except StoreUnavailableError:
                # Never leave a run queued that nothing will execute: it ends now, with the reason.
                failed = ev.RunFailed(reason=NOT_STARTED)
                log.append(run_id, [ev.Draft(data=failed, event_id=f"{run_id}:finished")])
        return run_id

    idempotency = IdempotencyConfig(
        event_key_jmespath="[org_id, idempotency_key]",
        payload_validation_jmespath="request",
        expires_after_seconds=IDEMPOTENCY_WINDOW_S,
    )

    @idempotent_function(
        data_keyword_argument="command",
        persistence_store=services.idempotency,
        config=idempotency,
        key_prefix="run_task",
    )
    def create_once(command: dict[str, Any]) -> dict[str, str]:
        return {"run_id": create(RunTaskRequest.model_validate(command["request"]))}

    @router.post("/v1/run/tasks", summary="Run a task", tags=["runs"])
    def run_task(
        request: Annotated[RunTaskRequest, Body()],
        x_idempotency_key: Annotated[str | None, Header(alias="x-idempotency-key")] = None,
    ) -> dict[str, Any]:
        check_can_run(request)
        if x_idempotency_key:
            idempotency.register_lambda_context(
                router.lambda_context or cast("LambdaContext", _LocalContext())
            )
            command = {
                "org_id": caller(router).org_id,
                "idempotency_key": x_idempotency_key,
                "request": request.model_dump(mode="json"),
            }
            run_id = create_once(command=command)["run_id"]
        else:
            run_id = create(request)
        view = log.get_view(run_id)
        assert view is not None
        return run_response(view, services.artifacts, app_url=services.config.app_url)

    @router.get("/v1/runs", summary="List runs, newest first", tags=["runs"])
    def list_runs(
        page: Annotated[int, Query(ge=1)] = 1,
        page_size: Annotated[int, Query(ge=1, le=100)] = 10,
        status: Annotated[list[RunStatus] | None, Query()] = None,
        run_type: Annotated[list[RunType] | None, Query()] = None,
        search_key: Annotated[str | None, Query()] = None,
        cursor: Annotated[str | None, Query(description=CURSOR_HELP)] = None,
    ) -> Response[list[dict[str, Any]]]:
        if cursor and page != 1:
            raise BadRequestError(
                "Pass either page or cursor, not both: a cursor already says where to start."
            )
        query = RunQuery(
            page=page,
            page_size=page_size,
            statuses=frozenset(status or ()),
            run_types=frozenset(run_type or ()),
            search=search_key or None,
            cursor=cursor or None,
        )
        try:
            listed = log.list_runs(caller(router).org_id, query)
        except InvalidCursorError as exc:
            raise BadRequestError(
                "The cursor is not one this server returned; start again without it."
            ) from exc
        body = [
            {
                "task_run_id": run.run_id,
                "run_id": run.run_id,
                "task_run_type": run.run_type.value,
                "status": run.status.value,
                "title": run.title,
                "created_at": wire_time(run.created_at),
                "modified_at": wire_time(run.modified_at),
                "started_at": wire_time(run.started_at),
                "finished_at": wire_time(run.finished_at),
                "workflow_permanent_id": run.workflow_id,
                "script_run": False,
                "step_count": run.step_count,
                "failure_reason": run.failure_reason,
            }
            for run in listed.runs
        ]
        # The body stays the plain list the SDK parses; the next page's cursor rides in a header.
        headers = {NEXT_CURSOR_HEADER: listed.next_cursor} if listed.next_cursor else {}
        return Response(
            status_code=200, content_type=content_types.APPLICATION_JSON, body=body, headers=headers
        )

    @router.get("/v1/runs/<run_id>", summary="Get a run", tags=["runs"])
    def get_run(run_id: str) -> dict[str, Any]:
        return run_response(own_view(run_id), services.artifacts, app_url=services.config.app_url)

    @router.post("/v1/runs/<run_id>/cancel", summary="Cancel a run", tags=["runs"])
    def cancel_run(run_id: str) -> None:
        view = own_view(run_id)
        drafts = commands.cancel(view)
        if drafts:
            try:
                view = log.append(run_id, drafts).view
            except RunAlreadyFinishedError:
                return  # it ended while we were asking; canceling a finished run is a no-op
        if view.status is RunStatus.RUNNING and services.orchestrator is not None:
            services.orchestrator.stop(run_id)

    @router.get(
        "/v1/runs/<run_id>/timeline", summary="A run's steps and thoughts, oldest first", tags=["runs"]
    )
    def get_run_timeline(run_id: str) -> list[dict[str, Any]]:
        own_view(run_id)
        return timeline_response(timeline(log.read(run_id)))

    @router.get("/v1/runs/<run_id>/artifacts", summary="A run's artifacts", tags=["artifacts"])
    def get_run_artifacts(
        run_id: str, artifact_type: Annotated[list[ArtifactType] | None, Query()] = None
    ) -> list[dict[str, Any]]:
        view = log.get_view(run_id)
        if view is None or view.org_id != caller(router).org_id:
            return []  # as Skyvern's server: an unknown run simply has no artifacts
        wanted = set(artifact_type or ())
        return [
            artifact_response(record, services.artifacts)
            for record in log.list_artifacts(run_id)
            if not wanted or record.artifact_type in wanted
        ]

    @router.post("/v1/runs/<run_id>/retry_webhook", summary="Send a run's webhook again", tags=["runs"])
    def retry_run_webhook(run_id: str) -> dict[str, Any]:
        view = own_view(run_id)
        body = raw_body(router.current_event.raw_event)
        try:
            retry = RetryWebhookRequest.model_validate(json.loads(body) if body.strip() else {})
        except (ValueError, ValidationError) as exc:
            raise BadRequestError(
                'The body must be empty or a JSON object like {"webhook_url": "https://..."}.'
            ) from exc
        if not view.is_terminal:
            raise BadRequestError(
                f"Run {run_id} is still {view.status.value}; its webhook is sent once it finishes."
            )
        target = retry.webhook_url or view.webhook_url
        if not target:
            raise BadRequestError(
                f"Run {run_id} has no webhook_url; pass one in the request body to send the webhook there."
            )
        try:
            check_http_url(target, field="webhook_url")
        except ValueError as exc:
            raise BadRequestError(str(exc)) from exc
        if services.webhooks is None:
            raise BadRequestError("Webhook delivery is not configured on this deployment.")
        return services.webhooks.replay(view, target_url=retry.webhook_url)

    return router
