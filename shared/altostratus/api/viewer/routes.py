"""The viewer's routes: its pages, its assets, sign-in and sign-out, and the JSON its pages read.

These are the browser UI's own interface, authorized by the session cookie (see session.py),
not part of the Skyvern-compatible API: they are left out of /openapi.json on purpose, so SDK
clients and generated code never depend on a cookie-authorized, UI-shaped interface.
"""

from __future__ import annotations

import json
from typing import Annotated, Any
from urllib.parse import quote

from aws_lambda_powertools.event_handler import Response, content_types
from aws_lambda_powertools.event_handler.api_gateway import Router
from aws_lambda_powertools.event_handler.openapi.params import Query
from pydantic import BaseModel, Field, ValidationError

from altostratus.api.auth import caller
from altostratus.api.errors import BadRequestError, NotFoundError, UnprocessableError, validation_details
from altostratus.api.key_lookup import KeyLookup
from altostratus.api.paging import PageSize
from altostratus.api.public_base import request_prefix
from altostratus.api.resolver import raw_body
from altostratus.api.run_actions import cancel_run, replay_webhook
from altostratus.api.services import ApiServices
from altostratus.api.session_runs import files_of, session_runs
from altostratus.api.viewer.pages import ASSETS, asset, page_policy, shell
from altostratus.api.viewer.session import Sessions, cleared_cookies, session_cookies
from altostratus.domain import events as ev
from altostratus.domain import sessions as s
from altostratus.domain.enums import RunStatus
from altostratus.domain.redaction import redact_url
from altostratus.domain.run_summary import PROMPT_EXCERPT_CHARS
from altostratus.domain.timeline import timeline
from altostratus.domain.view import RunView
from altostratus.ports.event_log import InvalidCursorError, RunQuery
from altostratus.ports.request_parts import with_stored_parts
from altostratus.ports.session_browsers import LiveViews, SessionBrowserError
from altostratus.wire.render import artifact_response, run_response, timeline_response, wire_time
from altostratus.wire.sessions import session_response

PAGE_SIZE = 20


class SignIn(BaseModel):
    api_key: str = Field(min_length=1, max_length=500)


def viewer_router(services: ApiServices, sessions: Sessions) -> Router:
    router = Router()
    log = services.event_log
    lookup = KeyLookup(services.keys, services.clock, cache_seconds=services.config.key_cache_seconds)

    def event() -> dict[str, Any]:
        raw: dict[str, Any] = router.current_event.raw_event
        return raw

    def base() -> str:
        return request_prefix(event(), services.config.strip_prefixes)

    def redirect(to: str) -> Response[str]:
        return Response(status_code=302, headers={"Location": to, "Cache-Control": "no-store"}, body="")

    def page(name: str) -> Response[str]:
        headers = {
            "Content-Security-Policy": page_policy(services.config.media_origins),
            "Cache-Control": "no-store",
        }
        return Response(
            status_code=200,
            content_type="text/html; charset=utf-8",
            body=shell(name, base=base()),
            headers=headers,
        )

    def signed_in_page(name: str) -> Response[str]:
        if sessions.from_request(event()) is None:
            path = router.current_event.path
            return redirect(f"{base()}/signin?next={quote(path.removeprefix(base()) or '/runs', safe='/')}")
        return page(name)

    @router.get("/", include_in_schema=False)
    def home() -> Response[str]:
        return redirect(f"{base()}/runs")

    @router.get("/signin", include_in_schema=False)
    def signin_page() -> Response[str]:
        return page("signin")

    @router.get("/runs", include_in_schema=False)
    def runs_page() -> Response[str]:
        return signed_in_page("runs")

    @router.get("/runs/<run_id>", include_in_schema=False)
    def run_page(run_id: str) -> Response[str]:
        return signed_in_page("run")

    @router.get("/browser-session/<session_id>", include_in_schema=False)
    def session_page(session_id: str) -> Response[str]:
        return signed_in_page("session")

    @router.get("/viewer/static/<name>", include_in_schema=False)
    def static(name: str) -> Response[bytes]:
        media = ASSETS.get(name)
        if media is None:
            raise NotFoundError("Not Found")
        return Response(
            status_code=200, content_type=media, body=asset(name), headers={"Cache-Control": "no-cache"}
        )

    # -- the session --

    @router.post("/viewer/api/session", include_in_schema=False)
    def sign_in() -> Response[dict[str, Any]]:
        try:
            body = SignIn.model_validate(json.loads(raw_body(event()) or b"null"))
        except ValueError as exc:
            errors = exc.errors() if isinstance(exc, ValidationError) else []
            if errors:
                details = validation_details(
                    [{**e, "loc": ["body", *e["loc"]], "input": None} for e in errors]
                )
                raise UnprocessableError(details) from None
            raise BadRequestError('Send {"api_key": "..."} as JSON.') from None
        principal = lookup.authenticate(body.api_key.strip())
        if principal is None:
            return Response(
                status_code=403,
                content_type=content_types.APPLICATION_JSON,
                body={"detail": "Invalid API key"},
            )
        token, session = sessions.issue(principal)
        return Response(
            status_code=200,
            content_type=content_types.APPLICATION_JSON,
            body={"org_id": principal.org_id, "key_id": principal.key_id},
            cookies=session_cookies(event(), token, session, services.clock.now()),
            headers={"Cache-Control": "no-store"},
        )

    @router.get("/viewer/api/session", include_in_schema=False)
    def whoami() -> dict[str, Any]:
        principal = caller(router)
        return {"org_id": principal.org_id, "key_id": principal.key_id}

    @router.delete("/viewer/api/session", include_in_schema=False)
    def sign_out() -> Response[dict[str, Any]]:
        return Response(
            status_code=200,
            content_type=content_types.APPLICATION_JSON,
            body={"signed_out": True},
            cookies=cleared_cookies(event()),
        )

    # -- runs --

    def own_view(run_id: str) -> RunView:
        view = log.get_view(run_id)
        if view is None or view.org_id != caller(router).org_id:
            raise NotFoundError(f"Run not found {run_id}")
        return view

    @router.get("/viewer/api/runs", include_in_schema=False)
    def list_runs(
        status: Annotated[list[RunStatus] | None, Query()] = None,
        search: Annotated[str | None, Query(max_length=200)] = None,
        cursor: Annotated[str | None, Query(max_length=500)] = None,
        page_size: PageSize = PAGE_SIZE,
    ) -> dict[str, Any]:
        query = RunQuery(
            page_size=page_size,
            statuses=frozenset(status or ()),
            search=(search or "").strip() or None,
            cursor=cursor or None,
        )
        try:
            listed = log.list_runs(caller(router).org_id, query)
        except InvalidCursorError:
            raise BadRequestError(
                "The cursor is not one this server returned; start again without it."
            ) from None
        rows = [
            {
                "run_id": run.run_id,
                "status": run.status.value,
                "title": run.title,
                "prompt": run.prompt,
                "engine": run.engine.value if run.engine else None,
                "step_count": run.step_count,
                "cost_usd": run.cost_usd,
                "created_at": wire_time(run.created_at),
                "started_at": wire_time(run.started_at),
                "finished_at": wire_time(run.finished_at),
                "duration_s": (
                    (run.finished_at - run.started_at).total_seconds()
                    if run.started_at and run.finished_at
                    else None
                ),
                "failure_reason": run.failure_reason,
            }
            for run in listed.runs
        ]
        return {"runs": rows, "next_cursor": listed.next_cursor}

    @router.get("/viewer/api/runs/<run_id>", include_in_schema=False)
    def run_detail(run_id: str) -> dict[str, Any]:
        view = own_view(run_id)
        events = log.read(run_id)
        app_url = services.config.app_base(event())
        artifacts = {
            record.artifact_id: artifact_response(record, services.artifacts)
            for record in log.list_artifacts(run_id)
        }
        effects: dict[str, dict[str, Any]] = {}
        deliveries: list[dict[str, Any]] = []
        for item in events:
            data = item.data
            if isinstance(data, ev.ActionExecuted):
                effects[f"{data.step_id}#{data.action_order}"] = {
                    "summary": data.summary,
                    "effect": data.effect,
                    "error": data.error,
                }
            elif isinstance(data, ev.WebhookAttempted):
                deliveries.append(
                    {
                        "at": wire_time(item.at),
                        "delivery_id": data.delivery_id,
                        "attempt": data.attempt,
                        "url": redact_url(data.url),
                        "status_code": data.status_code,
                        "error": data.error,
                        "latency_ms": data.latency_ms,
                    }
                )
        return {
            "run": run_response(
                with_stored_parts(view, services.artifacts), services.artifacts, app_url=app_url
            ),
            "engine": view.engine.value if view.engine else None,
            "cancel_requested": view.cancel_requested,
            # Where a code run's replay stopped and the agent took over, and why.
            "script_fallback": (
                {"steps_done": view.fallback_steps_done or 0, "reason": view.fallback_reason}
                if view.ai_fallback_triggered
                else None
            ),
            # The artifacts behind run.screenshot_urls, in the same order (newest first).
            "screenshot_ids": [ref.artifact_id for ref in view.screenshots],
            "usage": view.usage.model_dump(mode="json", exclude={"type"}),
            "webhook": view.webhook.model_dump(mode="json") if view.webhook else None,
            "webhook_url": redact_url(view.webhook_url) if view.webhook_url else None,
            "deliveries": deliveries,
            "timeline": timeline_response(timeline(events)),
            "effects": effects,
            "artifacts": {
                artifact_id: {
                    "artifact_type": a["artifact_type"],
                    "signed_url": a["signed_url"],
                    "content_type": a["content_type"],
                    "filename": a["filename"],
                }
                for artifact_id, a in artifacts.items()
            },
        }

    @router.post("/viewer/api/runs/<run_id>/cancel", include_in_schema=False)
    def cancel(run_id: str) -> dict[str, Any]:
        cancel_run(services, own_view(run_id))
        return {"status": own_view(run_id).status.value}

    @router.post("/viewer/api/runs/<run_id>/retry_webhook", include_in_schema=False)
    def retry_webhook(run_id: str) -> dict[str, Any]:
        report = replay_webhook(services, own_view(run_id), None)
        return {"status_code": report.status_code, "error": report.error, "latency_ms": report.latency_ms}

    # -- browser sessions --

    def own_session(session_id: str) -> s.SessionView:
        view = services.sessions.get(session_id) if services.sessions is not None else None
        if view is None or view.org_id != caller(router).org_id:
            raise NotFoundError(s.not_found_message(session_id))
        return view

    def live_view(view: s.SessionView) -> str | None:
        """A fresh link to the session's live view, where its backend has one (each read signs
        a new one: they are valid for minutes)."""
        browsers = services.session_browsers
        assert services.sessions is not None
        if not isinstance(browsers, LiveViews) or not view.is_open_at(services.sessions.now()):
            return None
        try:
            return browsers.live_view_url(view.session_id)
        except SessionBrowserError:
            return None

    @router.get("/viewer/api/browser_sessions/<session_id>", include_in_schema=False)
    def session_detail(session_id: str) -> dict[str, Any]:
        view = own_session(session_id)
        assert services.sessions is not None
        runs = session_runs(services, view)
        downloaded, recordings = files_of(services, runs)
        address = None
        if services.session_address is not None and view.connectable:
            address = services.session_address(view.session_id)
        app_url = services.config.app_base(event())
        shown = session_response(
            view,
            services.sessions.now(),
            browser_address=address,
            app_url=app_url,
            downloaded_files=downloaded,
            recordings=recordings,
        )
        # The newest screenshot of the newest run that took one: what the browser showed last.
        latest = next(
            (
                {
                    "run_id": run.run_id,
                    "artifact_id": run.screenshots[0].artifact_id,
                    "url": services.artifacts.signed_url(
                        run.screenshots[0].uri, artifact_id=run.screenshots[0].artifact_id
                    ),
                }
                for run in runs
                if run.screenshots
            ),
            None,
        )
        rows = [
            {
                "run_id": run.run_id,
                "status": run.status.value,
                "title": run.title,
                "prompt": str(run.request_echo.get("prompt") or "")[:PROMPT_EXCERPT_CHARS] or None,
                "step_count": run.step_count,
                "created_at": wire_time(run.created_at),
                "started_at": wire_time(run.started_at),
                "finished_at": wire_time(run.finished_at),
                "failure_reason": run.failure_reason,
            }
            for run in runs
        ]
        return {
            "session": shown.model_dump(mode="json"),
            "live_view_url": live_view(view),
            "runs": rows,
            "latest_screenshot": latest,
            "closed_reason": view.closed_reason,
        }

    return router
