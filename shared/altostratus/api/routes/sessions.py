"""/v1/browser_sessions: create, list, get, extend and close browser sessions."""

from __future__ import annotations

import json
import logging
from datetime import timedelta
from typing import Annotated, Any

from aws_lambda_powertools.event_handler.api_gateway import Router
from aws_lambda_powertools.event_handler.openapi.params import Body
from pydantic import ValidationError

from altostratus.api.auth import caller
from altostratus.api.errors import (
    BadRequestError,
    ConflictError,
    NotFoundError,
    UnprocessableError,
    validation_details,
)
from altostratus.api.openapi import AUTH_ERRORS, BODY_ERRORS, responses
from altostratus.api.resolver import raw_body
from altostratus.api.services import ApiServices
from altostratus.api.session_runs import files_of, session_runs
from altostratus.domain import sessions as s
from altostratus.orchestration.sessions import SessionCloser
from altostratus.ports.errors import SequenceConflictError, StoreUnavailableError
from altostratus.ports.session_browsers import SessionBrowserError
from altostratus.ports.session_log import SessionLog
from altostratus.ports.session_timer import SessionTimerError
from altostratus.wire.sessions import (
    BrowserSessionResponse,
    CloseBrowserSessionResponse,
    CreateBrowserSessionBody,
    ExtendBrowserSessionBody,
    session_response,
)

CLOSED = "Browser session closed"
logger = logging.getLogger("altostratus.api")
_CREATE_BODY_SCHEMA = {
    "required": False,
    "content": {
        "application/json": {
            "schema": CreateBrowserSessionBody.model_json_schema(),
            "examples": {"default": {"summary": "A session of 30 minutes", "value": {"timeout": 30}}},
        }
    },
}


def close_session(
    services: ApiServices, log: SessionLog, view: s.SessionView, reason: str | None
) -> s.SessionView:
    return SessionCloser(log, services.session_browsers, services.session_timer).close(view, reason)


def sessions_router(services: ApiServices) -> Router:
    router = Router()

    def store() -> SessionLog:
        if services.sessions is None:
            raise NotFoundError("Browser sessions are not available on this deployment.")
        return services.sessions

    def own(session_id: str) -> s.SessionView:
        view = store().get(session_id)
        if view is None or view.org_id != caller(router).org_id:
            raise NotFoundError(s.not_found_message(session_id))
        return view

    def answer(view: s.SessionView, warning: str | None = None) -> BrowserSessionResponse:
        log = store()
        now = log.now()
        if not view.is_closed and view.status_at(now).is_final:
            view = close_session(services, log, view, None)  # past its deadline: close it now
        address = None
        if services.session_address is not None and view.connectable:
            address = services.session_address(view.session_id)
        # The viewer's page of the session: under the configured base, else where this request came.
        app_url = services.config.app_base(router.current_event.raw_event)
        downloaded, recordings = files_of(services, session_runs(services, view))
        return session_response(
            view,
            log.now(),
            browser_address=address,
            app_url=app_url,
            warning=warning,
            downloaded_files=downloaded,
            recordings=recordings,
        )

    def create_body() -> CreateBrowserSessionBody:
        body = raw_body(router.current_event.raw_event)
        try:
            submitted: Any = json.loads(body) if body.strip() else {}
        except ValueError as exc:
            raise BadRequestError(f"The request body is not valid JSON: {exc}") from exc
        if submitted is None:
            submitted = {}
        if not isinstance(submitted, dict):
            raise BadRequestError('The body must be empty or a JSON object like {"timeout": 30}.')
        try:
            return CreateBrowserSessionBody.model_validate(submitted)
        except ValidationError as exc:
            details = validation_details([{**e, "loc": ["body", *e["loc"]]} for e in exc.errors()])
            raise UnprocessableError(details) from exc

    @router.post(
        "/v1/browser_sessions",
        summary="Create a browser session",
        description="A browser kept between runs: give its id as `browser_session_id` to `run_task`. "
        f"The timeout (minutes, default {s.DEFAULT_TIMEOUT}) counts from the start; above "
        f"{s.MAX_TIMEOUT} it is capped, with a `warning`.",
        tags=["browser_sessions"],
        operation_id="create_browser_session",
        responses=responses(
            "The session, started.",
            *BODY_ERRORS,
            *AUTH_ERRORS,
            404,
            overrides={404: "The browser profile does not exist."},
        ),
        openapi_extensions={"requestBody": _CREATE_BODY_SCHEMA},
    )
    def create_browser_session() -> BrowserSessionResponse:
        body = create_body()
        log = store()
        if body.proxy_session_id and str(body.proxy_location or "") != "RESIDENTIAL_ISP":
            raise BadRequestError("proxy_session_id is only supported with RESIDENTIAL_ISP proxy_location")
        if body.browser_profile_id:
            raise NotFoundError(f"Browser profile {body.browser_profile_id} not found")
        requested = body.timeout or s.DEFAULT_TIMEOUT
        warning = s.max_timeout_warning(requested) if requested > s.MAX_TIMEOUT else None
        spec = s.SessionSpec(
            timeout=min(requested, s.MAX_TIMEOUT),
            url=body.url,
            proxy_location=body.proxy_location,
            extensions=body.extensions,
            browser_type=body.browser_type,
            generate_browser_profile=bool(body.generate_browser_profile),
        )
        session_id = services.ids.new(s.SESSION_PREFIX)
        backend = services.session_browsers
        created = s.SessionCreated(
            org_id=caller(router).org_id, spec=spec, backend=backend.name if backend else "none"
        )
        view = log.append(session_id, [created])
        if backend is not None:
            try:
                backend.start(session_id)
            except SessionBrowserError as exc:
                log.append(session_id, [s.SessionClosed(status=s.SessionStatus.failed, reason=str(exc))])
                raise BadRequestError(f"The browser session could not be started: {exc}") from exc
            view = log.append(session_id, [s.SessionStarted(connectable=backend.live)])
        else:
            view = log.append(session_id, [s.SessionStarted(connectable=False)])
        if services.session_timer is not None:
            try:
                services.session_timer.arm(session_id, view.deadline)
            except SessionTimerError as exc:
                # A session nothing would close at its deadline is not handed out.
                close_session(services, log, view, str(exc))
                raise StoreUnavailableError(str(exc)) from exc
        return answer(view, warning)

    @router.get(
        "/v1/browser_sessions",
        summary="List the open browser sessions",
        description="The organization's sessions that have not ended, created in the last 24 hours, "
        "newest first.",
        tags=["browser_sessions"],
        operation_id="get_browser_sessions",
        responses=responses("The open sessions.", *AUTH_ERRORS),
    )
    def get_browser_sessions() -> list[BrowserSessionResponse]:
        log = store()
        now = log.now()
        since = now - timedelta(hours=s.ACTIVE_HOURS)
        listed = []
        for view in log.list_open(caller(router).org_id):
            if view.created_at < since:
                continue
            shown = answer(view)
            if shown.completed_at is None:
                listed.append(shown)
        return listed

    @router.get(
        "/v1/browser_sessions/<browser_session_id>",
        summary="Get a browser session",
        tags=["browser_sessions"],
        operation_id="get_browser_session",
        responses=responses("The session.", *AUTH_ERRORS, 404),
    )
    def get_browser_session(browser_session_id: str) -> BrowserSessionResponse:
        return answer(own(browser_session_id))

    @router.post(
        "/v1/browser_sessions/<browser_session_id>/close",
        summary="Close a browser session",
        description="Ends the session and its browser; closing a closed session is a no-op.",
        tags=["browser_sessions"],
        operation_id="close_browser_session",
        responses=responses("Closed.", *AUTH_ERRORS, 404),
    )
    def close_browser_session(browser_session_id: str) -> CloseBrowserSessionResponse:
        close_session(services, store(), own(browser_session_id), None)
        return CloseBrowserSessionResponse(message=CLOSED)

    @router.post(
        "/v1/browser_sessions/<browser_session_id>/extend",
        summary="Extend a browser session",
        description=f"Adds minutes to the timeout, up to a total of {s.MAX_EXTENDED_TIMEOUT} (beyond it the "
        "extension is capped, with a `warning`).",
        tags=["browser_sessions"],
        operation_id="extend_browser_session",
        responses=responses(
            "The session with its new timeout.",
            *BODY_ERRORS,
            *AUTH_ERRORS,
            404,
            409,
            overrides={409: "The session has ended, is about to, or is at the longest lifetime."},
        ),
    )
    def extend_browser_session(
        browser_session_id: str, body: Annotated[ExtendBrowserSessionBody, Body()]
    ) -> BrowserSessionResponse:
        log = store()
        for _ in range(10):
            view = own(browser_session_id)
            try:
                extended, warning = s.extension(view, body.additional_minutes, log.now())
                view = log.append(browser_session_id, [extended], expected_version=view.version)
                move_timer(view)
            except s.ExtensionRefusedError as exc:
                raise ConflictError(exc.message) from exc
            except s.SessionClosedError as exc:
                raise ConflictError(f"Browser session {browser_session_id} has ended.") from exc
            except SequenceConflictError:
                continue  # extended concurrently: read it again
            return answer(view, warning)
        raise ConflictError(f"Browser session {browser_session_id} is changing; retry.")

    def move_timer(view: s.SessionView) -> None:
        if services.session_timer is None:
            return
        try:
            services.session_timer.arm(view.session_id, view.deadline)
        except SessionTimerError as exc:
            # The extension stands: the timer, firing at the old deadline, finds the session
            # not yet due and sets itself again at the new one.
            logger.warning("session %s: %s", view.session_id, exc)

    return router
