"""/v1/run/tasks and /v1/runs/...: submit, read, cancel, timeline, artifacts, webhook replay."""

from __future__ import annotations

import hashlib
import json
from typing import TYPE_CHECKING, Annotated, Any, cast

from aws_lambda_powertools.event_handler import Response, content_types
from aws_lambda_powertools.event_handler.api_gateway import Router
from aws_lambda_powertools.event_handler.openapi.params import Body, Header, Query
from aws_lambda_powertools.utilities.idempotency import IdempotencyConfig, idempotent_function
from pydantic import TypeAdapter, ValidationError

from altostratus.api.auth import caller
from altostratus.api.errors import (
    BadRequestError,
    ConflictError,
    NotFoundError,
    UnprocessableError,
    validation_details,
)
from altostratus.api.openapi import AUTH_ERRORS, BODY_ERRORS, RUN_TASK_EXAMPLES, responses, typed_ok
from altostratus.api.paging import PageNumber, PageSize
from altostratus.api.resolver import raw_body
from altostratus.api.run_actions import cancel_run as cancel_run_now
from altostratus.api.run_actions import replay_webhook
from altostratus.api.services import ApiServices
from altostratus.api.session_access import check_open_session
from altostratus.domain import lifecycle
from altostratus.domain.credentials import login_goal
from altostratus.domain.enums import ArtifactType, Engine, RunStatus, RunType
from altostratus.domain.events import RunCreated
from altostratus.domain.run_request import RunTaskRequest
from altostratus.domain.timeline import timeline
from altostratus.domain.view import RunView
from altostratus.ports.errors import ClaimTakenError, StoreUnavailableError
from altostratus.ports.event_log import Claim, ClaimRecord, InvalidCursorError, RunQuery
from altostratus.ports.request_parts import store_large_parts, with_stored_parts
from altostratus.wire.credentials import LoginRequest, LoginRunResponse
from altostratus.wire.render import artifact_response, run_response, timeline_response, wire_time
from altostratus.wire.responses import (
    Artifact,
    RetryWebhookBody,
    RunListItem,
    RunResponse,
    TimelineEntry,
    WebhookReplayReport,
)

if TYPE_CHECKING:
    from aws_lambda_powertools.utilities.typing import LambdaContext

IDEMPOTENCY_WINDOW_S = 24 * 3600
NOT_STARTED = "The run could not be started: the orchestration service was unavailable. Submit it again."
KEY_REUSED = "This x-idempotency-key was already used with a different request body."
NEXT_CURSOR_HEADER = "x-next-cursor"
CURSOR_HELP = (
    "Where to start: the x-next-cursor header of the previous page. Pages read this way do not "
    "shift when new runs are submitted meanwhile."
)


_RUN = TypeAdapter[RunResponse](RunResponse)
_RETRY_BODY_SCHEMA = {
    "required": False,
    "content": {
        "application/json": {
            "schema": RetryWebhookBody.model_json_schema(),
            "examples": {"run's own url": {"summary": "Send to the run's own webhook_url", "value": {}}},
        }
    },
}


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
        if request.publish_workflow and request.engine is not Engine.SKYVERN_V2:
            raise BadRequestError(
                f"publish_workflow needs the engine skyvern-2.0 (its runs compile to a replayable "
                f"script); {request.engine.value!r} runs cannot be published."
            )
        if request.publish_workflow and services.workflows is None:
            raise BadRequestError("publish_workflow is not available: this deployment keeps no workflows.")
        if request.run_with == "code":
            raise BadRequestError("run_with='code' needs a published workflow; task runs use the agent.")
        if request.browser_session_id is not None:
            check_open_session(services, caller(router).org_id, request.browser_session_id)
        for check in services.submission_checks:
            check(request)

    def submission_claim(request: RunTaskRequest, idempotency_key: str) -> Claim:
        """The key bound to the run in the same write that creates it, so a submission retried
        after a crash finds its run instead of making a second one."""
        org = caller(router).org_id
        key = hashlib.sha256(idempotency_key.encode()).hexdigest()
        body = json.dumps(request.model_dump(mode="json"), sort_keys=True, separators=(",", ":"))
        return Claim(key=f"run_task#{org}#{key}", fingerprint=hashlib.sha256(body.encode()).hexdigest())

    def claimed_run(claim: Claim, owner: ClaimRecord) -> str:
        if owner.fingerprint != claim.fingerprint:
            raise ConflictError(KEY_REUSED)
        return owner.run_id

    def create(request: RunTaskRequest, idempotency_key: str | None = None) -> str:
        principal = caller(router)
        claim = submission_claim(request, idempotency_key) if idempotency_key else None
        if claim is not None and (owner := log.claim_owner(claim.key)) is not None:
            return claimed_run(claim, owner)
        run_id = services.ids.new(request.engine.run_type.id_prefix)
        parts = request.secret_parts()
        sealed = services.secret_box.seal(json.dumps(parts), context=run_id) if parts else None
        drafts = lifecycle.create_task_run(
            request, org_id=principal.org_id, api_key_id=principal.key_id, sealed_request=sealed
        )
        created = drafts[0].data
        assert isinstance(created, RunCreated)
        stored = store_large_parts(
            created,
            run_id=run_id,
            artifacts=services.artifacts,
            above=services.config.store_parts_above_bytes,
        )
        drafts[0] = drafts[0].model_copy(update={"data": stored})
        try:
            log.append(run_id, drafts, claim=claim)
        except ClaimTakenError:
            # A concurrent submission with the same key created its run first.
            assert claim is not None
            owner = log.claim_owner(claim.key)
            assert owner is not None
            return claimed_run(claim, owner)
        if services.orchestrator is not None:
            try:
                services.orchestrator.start(run_id)
            except StoreUnavailableError:
                # Never leave a run queued that nothing will execute: it ends now, with the reason.
                log.append(run_id, lifecycle.fail(run_id, NOT_STARTED))
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
        request = RunTaskRequest.model_validate(command["request"])
        return {"run_id": create(request, command["idempotency_key"])}

    def answer(view: RunView) -> RunResponse:
        # The viewer's page of the run: under the configured base, else where this request came.
        app_url = services.config.app_base(router.current_event.raw_event)
        whole = with_stored_parts(view, services.artifacts)
        return _RUN.validate_python(run_response(whole, services.artifacts, app_url=app_url))

    @router.post(
        "/v1/run/tasks",
        summary="Run a task",
        tags=["runs"],
        operation_id="run_task",
        responses=responses(
            "The run, created and queued.",
            *BODY_ERRORS,
            *AUTH_ERRORS,
            404,
            409,
            overrides={
                400: "The body is not JSON, or asks for something this deployment cannot run "
                "(engine, model, proxy, a closed browser session, webhook address).",
                404: "The browser session does not exist or belongs to another organization.",
            },
        ),
    )
    def run_task(
        request: Annotated[RunTaskRequest, Body(openapi_examples=RUN_TASK_EXAMPLES)],
        x_idempotency_key: Annotated[
            str | None,
            Header(
                alias="x-idempotency-key",
                description="Retrying with the same key and body within 24 hours returns the same run.",
            ),
        ] = None,
    ) -> RunResponse:
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
        return answer(view)

    @router.post(
        "/v1/run/tasks/login",
        summary="Log in with a saved credential",
        description="A run with a built-in login goal that types the saved credential's username and "
        "password through placeholders (never shown to the model), and gets a 2FA code from the "
        "credential's authenticator, its totp_identifier or the totp_url when the site asks.",
        tags=["runs"],
        operation_id="login",
        responses=typed_ok(
            LoginRunResponse,
            "The login run, created and queued.",
            *BODY_ERRORS,
            *AUTH_ERRORS,
            404,
            overrides={
                400: "The body is not JSON, names a vault this deployment does not serve, or a credential "
                "that is not a password, or asks for something this deployment cannot run.",
                404: "The credential (or the browser session) does not exist or is another organization's.",
            },
        ),
    )
    def login(body: LoginRequest) -> Response[Any]:
        if body.credential_type != "skyvern":
            raise BadRequestError(
                f"Credentials kept in {body.credential_type!r} are not served here; save the credential "
                "with create_credential and log in with credential_type 'skyvern'."
            )
        if not body.credential_id:
            raise UnprocessableError.field(["body", "credential_id"], "credential_id is required")
        found = (
            services.credentials.get(caller(router).org_id, body.credential_id)
            if services.credentials is not None
            else None
        )
        if found is None:
            raise NotFoundError("Credential not found")
        if found.credential_type != "password":
            raise BadRequestError("Only a password credential can be used to log in.")
        fields = {
            "prompt": login_goal(found.credential_id, body.prompt),
            "url": body.url,
            "webhook_url": body.webhook_url,
            "proxy_location": body.proxy_location,
            "totp_identifier": body.totp_identifier or found.shown.get("totp_identifier"),
            "totp_url": body.totp_url,
            "browser_session_id": body.browser_session_id,
            "browser_address": body.browser_address,
            "extra_http_headers": body.extra_http_headers,
            "max_screenshot_scrolls": body.max_screenshot_scrolling_times,
            "engine": Engine.SKYVERN_V1.value,
        }
        try:
            request = RunTaskRequest.model_validate({k: v for k, v in fields.items() if v is not None})
        except ValidationError as exc:
            errors = [{**e, "loc": ("body", *e["loc"])} for e in exc.errors()]
            raise UnprocessableError(validation_details(errors)) from None
        check_can_run(request)
        view = log.get_view(create(request))
        assert view is not None
        shown = answer(view).model_dump(mode="json")
        # The SDK reads this answer as a workflow run, whose request is a workflow's: left out.
        shown.pop("run_request", None)
        return Response(status_code=200, content_type=content_types.APPLICATION_JSON, body=shown)

    @router.get(
        "/v1/runs",
        summary="List runs, newest first",
        tags=["runs"],
        operation_id="get_runs_v2",
        responses=responses("One page of the organization's runs.", 400, *AUTH_ERRORS, 422),
    )
    def list_runs(
        page: PageNumber = 1,
        page_size: PageSize = 10,
        status: Annotated[list[RunStatus] | None, Query()] = None,
        run_type: Annotated[list[RunType] | None, Query()] = None,
        search_key: Annotated[str | None, Query()] = None,
        cursor: Annotated[str | None, Query(description=CURSOR_HELP)] = None,
    ) -> Response[list[RunListItem]]:
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
        rows = [
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
            status_code=200,
            content_type=content_types.APPLICATION_JSON,
            body=[RunListItem.model_validate(row) for row in rows],
            headers=headers,
        )

    @router.get(
        "/v1/runs/<run_id>",
        summary="Get a run",
        tags=["runs"],
        operation_id="get_run",
        responses=responses("The run.", *AUTH_ERRORS, 404),
    )
    def get_run(run_id: str) -> RunResponse:
        return answer(own_view(run_id))

    @router.post(
        "/v1/runs/<run_id>/cancel",
        summary="Cancel a run",
        description="A queued run ends now; a running one is asked to stop. A finished run is left as it is.",
        tags=["runs"],
        operation_id="cancel_run",
        responses=responses("Canceled, or asked to stop (the body is null).", *AUTH_ERRORS, 404, 409),
    )
    def cancel_run(run_id: str) -> None:
        cancel_run_now(services, own_view(run_id))

    @router.get(
        "/v1/runs/<run_id>/timeline",
        summary="A run's steps and thoughts, oldest first",
        tags=["runs"],
        operation_id="get_run_timeline",
        responses=responses("One entry per AI step or thought, in ascending `order`.", *AUTH_ERRORS, 404),
    )
    def get_run_timeline(run_id: str) -> list[TimelineEntry]:
        own_view(run_id)
        return [TimelineEntry.model_validate(e) for e in timeline_response(timeline(log.read(run_id)))]

    @router.get(
        "/v1/runs/<run_id>/artifacts",
        summary="A run's artifacts",
        tags=["artifacts"],
        operation_id="get_run_artifacts",
        responses=responses(
            "The run's artifacts (an unknown run has none), each with an expiring `signed_url`.",
            *AUTH_ERRORS,
            404,
            422,
            overrides={404: "The path names no route (for instance, an empty run id)."},
        ),
    )
    def get_run_artifacts(
        run_id: str, artifact_type: Annotated[list[ArtifactType] | None, Query()] = None
    ) -> list[Artifact]:
        view = log.get_view(run_id)
        if view is None or view.org_id != caller(router).org_id:
            return []  # as Skyvern's server: an unknown run simply has no artifacts
        wanted = set(artifact_type or ())
        return [
            Artifact.model_validate(artifact_response(record, services.artifacts))
            for record in log.list_artifacts(run_id)
            if not wanted or record.artifact_type in wanted
        ]

    @router.post(
        "/v1/runs/<run_id>/retry_webhook",
        summary="Send a run's webhook again",
        description="Rebuilds the webhook from the run's current state, signs it and POSTs it once.",
        tags=["runs"],
        operation_id="retry_run_webhook",
        responses=responses(
            "What the replay did; an unreachable receiver is reported in `error`.",
            *BODY_ERRORS,
            *AUTH_ERRORS,
            404,
            overrides={
                400: "The run has not finished, has no webhook_url, the address is refused, or the body "
                "is not a JSON object."
            },
        ),
        # The body is optional (the SDK sends none), so it is read here rather than declared
        # as a parameter, which would make an empty body a validation error.
        openapi_extensions={"requestBody": _RETRY_BODY_SCHEMA},
    )
    def retry_run_webhook(run_id: str) -> WebhookReplayReport:
        view = own_view(run_id)
        body = raw_body(router.current_event.raw_event)
        try:
            submitted = json.loads(body) if body.strip() else {}
        except ValueError as exc:
            raise BadRequestError(f"The request body is not valid JSON: {exc}") from exc
        if submitted is None:
            submitted = {}
        if not isinstance(submitted, dict):
            raise BadRequestError(
                'The body must be empty or a JSON object like {"webhook_url": "https://..."}.'
            )
        try:
            retry = RetryWebhookBody.model_validate(submitted)
        except ValidationError as exc:
            details = validation_details([{**e, "loc": ["body", *e["loc"]]} for e in exc.errors()])
            raise UnprocessableError(details) from exc
        return replay_webhook(services, view, retry.webhook_url)

    return router
