"""The Powertools HTTP API resolver, made safe to share between request threads.

Powertools keeps the request being resolved on the resolver (and on a class attribute of
BaseRouter). Lambda resolves one request per process, but the embedded server resolves
several at once on worker threads, so the per-request state lives in a thread-local here —
the same idea as Powertools' own ASGI resolver, which keeps it in a ContextVar.

Every answer leaves through `resolve`, where the API's standing headers are added and where an
error raised before routing is answered by the same error table as one raised in a route.
"""

from __future__ import annotations

import base64
import json
import logging
import threading
import time
from collections.abc import Callable, Mapping
from typing import Any

from aws_lambda_powertools.event_handler import APIGatewayHttpResolver, Response
from aws_lambda_powertools.event_handler.api_gateway import ResponseBuilder
from aws_lambda_powertools.event_handler.middlewares import NextMiddleware
from aws_lambda_powertools.event_handler.middlewares.openapi_validation import (
    OpenAPIResponseValidationMiddleware,
)
from aws_lambda_powertools.utilities.data_classes.common import BaseProxyEvent

from altostratus.api.errors import INTERNAL_ERROR
from altostratus.api.response_headers import secure

logger = logging.getLogger("altostratus.api")

# Powertools' resolver and idempotency utility log each call's parsed body and payload at
# DEBUG. A body can hold a password, a card number or a one-time code, so these loggers stay at
# INFO whatever the root logger's level (Lambda's log level setting, a user debugging).
for _name in ("aws_lambda_powertools.event_handler", "aws_lambda_powertools.utilities.idempotency"):
    logging.getLogger(_name).setLevel(logging.INFO)
# One line per request answered, for operators: never a header, a query string or a body.
request_log = logging.getLogger("altostratus.requests")

# A hook run before routing and validation; returns a finished response to short-circuit.
Preflight = Callable[[Mapping[str, Any], "AltoResolver"], dict[str, Any] | None]


def chain(*preflights: Preflight) -> Preflight:
    """Preflights run in order; the first finished response wins."""

    def run(event: Mapping[str, Any], app: AltoResolver) -> dict[str, Any] | None:
        for preflight in preflights:
            early = preflight(event, app)
            if early is not None:
                return early
        return None

    return run


class _BinarySafeResponseValidation(OpenAPIResponseValidationMiddleware):
    """Powertools validates and JSON-encodes whatever a route returns against its return
    annotation, which turns the bytes of an image or a PDF into text (and fails). Only JSON
    answers are validated here; bytes pass through to be base64-encoded as they are."""

    def handler(self, app: Any, next_middleware: NextMiddleware) -> Response[Any]:
        response: Response[Any] = next_middleware(app)
        if not response.is_json():
            return response
        return self._handle_response(route=app.context["_route"], response=response)  # type: ignore[no-any-return]


class _RequestState(threading.local):
    def __init__(self) -> None:
        self.event: BaseProxyEvent | None = None
        self.lambda_context: Any = None
        self.context: dict[str, Any] = {}
        self.frames: list[str] = []


class AltoResolver(APIGatewayHttpResolver):
    def __init__(self, *, preflight: Preflight | None = None, **kwargs: Any) -> None:
        self._state = _RequestState()
        self._preflight = preflight
        super().__init__(**kwargs)
        if self._enable_validation:
            self._response_validation_middleware = _BinarySafeResponseValidation(
                validation_serializer=self._serializer,
                has_response_validation_error=self._has_response_validation_error,
            )

    @property  # type: ignore[override]
    def current_event(self) -> BaseProxyEvent:
        assert self._state.event is not None, "no request is being resolved on this thread"
        return self._state.event

    @current_event.setter
    def current_event(self, value: BaseProxyEvent) -> None:
        self._state.event = value

    @property
    def lambda_context(self) -> Any:
        return self._state.lambda_context

    @lambda_context.setter
    def lambda_context(self, value: Any) -> None:
        self._state.lambda_context = value

    @property
    def context(self) -> dict[str, Any]:
        return self._state.context

    @context.setter
    def context(self, value: dict[str, Any]) -> None:
        self._state.context = value

    @property
    def processed_stack_frames(self) -> list[str]:
        return self._state.frames

    @processed_stack_frames.setter
    def processed_stack_frames(self, value: list[str]) -> None:
        self._state.frames = value

    def resolve(self, event: Mapping[str, Any], context: Any) -> dict[str, Any]:
        started = time.perf_counter()
        self._state.event = self._to_proxy_event(dict(event))
        self._state.lambda_context = context
        self._state.context = {}
        self._state.frames = []
        org: str | None = None
        try:
            early = self._preflight(event, self) if self._preflight is not None else None
            # Read now: Powertools empties the context when it finishes resolving.
            org = getattr(self._state.context.get("principal"), "org_id", None)
            result: dict[str, Any] = early if early is not None else super().resolve(event, context)
        except Exception as exc:  # answered by the error table, as a route's would be
            result = self._answer_error(exc)
        _log_request(event, result, org, time.perf_counter() - started)
        return secure(result)

    def _answer_error(self, exc: Exception) -> dict[str, Any]:
        try:
            handler = self.exception_handler_manager.lookup_exception_handler(type(exc))
            if handler is None:
                raise exc
            builder: ResponseBuilder[Any] = ResponseBuilder(
                response=handler(exc), serializer=self._serializer
            )
            built: dict[str, Any] = builder.build(self.current_event, self._cors)
            return built
        except Exception:
            logger.exception("unhandled error outside a route")
            return json_response(500, {"detail": INTERNAL_ERROR})


def _log_request(event: Mapping[str, Any], result: Mapping[str, Any], org: str | None, took_s: float) -> None:
    if not request_log.isEnabledFor(logging.INFO):
        return
    request = event.get("requestContext") or {}
    http = request.get("http") or {}
    method = str(http.get("method", ""))
    path = str(event.get("rawPath") or http.get("path", ""))
    status = int(result.get("statusCode", 200))
    ms = round(took_s * 1000, 1)
    request_log.info(
        "%s %s %s %.1f ms",
        method,
        path,
        status,
        ms,
        extra={
            "method": method,
            "path": path,
            "status": status,
            "ms": ms,
            "org": org,
            "request_id": request.get("requestId"),
        },
    )


def json_response(status: int, body: Any, headers: dict[str, str] | None = None) -> dict[str, Any]:
    """A finished HTTP API (payload 2.0) response, for answers given before routing."""
    return {
        "statusCode": status,
        "headers": {"Content-Type": "application/json", **(headers or {})},
        "body": json.dumps(body, separators=(",", ":")),
        "isBase64Encoded": False,
    }


def raw_body(event: Mapping[str, Any]) -> bytes:
    body = event.get("body") or ""
    if event.get("isBase64Encoded"):
        return base64.b64decode(body)
    return body.encode() if isinstance(body, str) else bytes(body)
