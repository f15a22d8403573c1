"""HTTP errors of the API and the one table that maps every error to a response."""

from __future__ import annotations

import logging
from typing import Any

from aws_lambda_powertools.event_handler import Response, content_types
from aws_lambda_powertools.event_handler.api_gateway import ApiGatewayResolver
from aws_lambda_powertools.event_handler.exceptions import NotFoundError as RouteNotFoundError
from aws_lambda_powertools.event_handler.openapi.exceptions import RequestValidationError
from aws_lambda_powertools.utilities.idempotency.exceptions import (
    IdempotencyAlreadyInProgressError,
    IdempotencyValidationError,
)

from altostratus.domain.errors import InvalidTransitionError
from altostratus.ports.errors import StoreUnavailableError

logger = logging.getLogger("altostratus.api")

# Fields whose submitted values a validation error must not echo back.
_SECRET_FIELDS = {"extra_http_headers", "cdp_connect_headers", "proxy_location", "browser_address"}


class HttpError(Exception):
    status = 500

    def __init__(self, detail: str) -> None:
        super().__init__(detail)
        self.detail = detail


class BadRequestError(HttpError):
    status = 400


class ForbiddenError(HttpError):
    status = 403


class NotFoundError(HttpError):
    status = 404


class ConflictError(HttpError):
    status = 409


class PayloadTooLargeError(HttpError):
    status = 413


def _json(status: int, body: Any) -> Response[Any]:
    return Response(status_code=status, content_type=content_types.APPLICATION_JSON, body=body)


def validation_details(errors: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """FastAPI's 422 shape: type, loc, msg, input — inputs of secret-bearing fields left out."""
    details = []
    for error in errors:
        loc = list(error.get("loc", ()))
        item: dict[str, Any] = {"type": error.get("type"), "loc": loc, "msg": error.get("msg")}
        value = error.get("input")
        if not any(part in _SECRET_FIELDS for part in loc) and isinstance(value, str | int | float | bool):
            item["input"] = value
        else:
            item["input"] = None
        details.append(item)
    return details


def register_error_handlers(app: ApiGatewayResolver) -> None:
    @app.exception_handler(HttpError)
    def _http(exc: HttpError) -> Response[Any]:
        return _json(exc.status, {"detail": exc.detail})

    @app.exception_handler(RequestValidationError)
    def _validation(exc: RequestValidationError) -> Response[Any]:
        errors = list(exc.errors())
        bad_json = next((e for e in errors if e.get("type") == "json_invalid"), None)
        if bad_json is not None:
            reason = (bad_json.get("ctx") or {}).get("error", "it is not valid JSON")
            return _json(400, {"detail": f"The request body is not valid JSON: {reason}"})
        return _json(422, {"detail": validation_details(errors)})

    @app.exception_handler(RouteNotFoundError)
    def _no_route(exc: RouteNotFoundError) -> Response[Any]:
        return _json(404, {"detail": "Not Found"})

    @app.exception_handler(IdempotencyValidationError)
    def _key_reused(exc: IdempotencyValidationError) -> Response[Any]:
        return _json(
            409, {"detail": "This x-idempotency-key was already used with a different request body."}
        )

    @app.exception_handler(IdempotencyAlreadyInProgressError)
    def _key_in_flight(exc: IdempotencyAlreadyInProgressError) -> Response[Any]:
        return _json(
            409, {"detail": "A request with this x-idempotency-key is still being processed; retry shortly."}
        )

    @app.exception_handler(InvalidTransitionError)
    def _transition(exc: InvalidTransitionError) -> Response[Any]:
        return _json(409, {"detail": f"The run cannot do this now: {exc.reason}."})

    @app.exception_handler(StoreUnavailableError)
    def _unavailable(exc: StoreUnavailableError) -> Response[Any]:
        logger.error("store unavailable: %s", exc)
        return _json(503, {"detail": "The service is temporarily unavailable; retry shortly."})

    @app.exception_handler(Exception)
    def _unexpected(exc: Exception) -> Response[Any]:
        # The stack trace goes to the operator's log, never to the caller.
        logger.exception("unhandled error")
        return _json(500, {"error": f"Unexpected error: {type(exc).__name__}"})
