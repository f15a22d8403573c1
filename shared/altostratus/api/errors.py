"""HTTP errors of the API and the one table that maps every error to a response.

Every error answers `{"detail": ...}`: a sentence for most, FastAPI's list of field errors for
422. Nothing in a body names an internal class, a file, a storage address or a stack frame.
"""

from __future__ import annotations

import logging
from typing import Any

from aws_lambda_powertools.event_handler import Response, content_types
from aws_lambda_powertools.event_handler.api_gateway import ApiGatewayResolver
from aws_lambda_powertools.event_handler.exceptions import NotFoundError as RouteNotFoundError
from aws_lambda_powertools.event_handler.openapi.exceptions import (
    RequestUnsupportedContentType,
    RequestValidationError,
)
from aws_lambda_powertools.utilities.idempotency.exceptions import (
    IdempotencyAlreadyInProgressError,
    IdempotencyValidationError,
)

from altostratus.domain.errors import InvalidTransitionError, RequestRefusedError
from altostratus.ports.errors import ItemNotStoredError, RecordTooLargeError, StoreUnavailableError

logger = logging.getLogger("altostratus.api")

INTERNAL_ERROR = (
    "The server could not complete this request because of an internal error; it has been logged."
)
UNAVAILABLE = "The service is temporarily unavailable; retry shortly."
# Seconds a client should wait before retrying a 503 (Skyvern's server sends the same).
RETRY_AFTER_S = "1"

# Fields whose submitted values a validation error must not echo back.
_SECRET_FIELDS = {"extra_http_headers", "cdp_connect_headers", "proxy_location", "browser_address"}


class HttpError(Exception):
    status = 500

    def __init__(self, detail: str | list[dict[str, Any]], *, headers: dict[str, str] | None = None) -> None:
        super().__init__(detail)
        self.detail = detail
        self.headers = headers or {}


class BadRequestError(HttpError):
    status = 400


class ForbiddenError(HttpError):
    status = 403


class NotFoundError(HttpError):
    status = 404


class ConflictError(HttpError):
    status = 409


class UnsupportedMediaTypeError(HttpError):
    status = 415


class RangeNotSatisfiableError(HttpError):
    status = 416


class BadGatewayError(HttpError):
    """A service this request needed (the model) failed; the request itself was fine."""

    status = 502


class UnprocessableError(HttpError):
    """422 with FastAPI's field-error list, for checks made outside request validation."""

    status = 422

    @classmethod
    def field(cls, loc: list[str | int], msg: str, *, kind: str = "value_error") -> UnprocessableError:
        return cls([{"type": kind, "loc": loc, "msg": msg, "input": None}])


def json_error(status: int, detail: Any, headers: dict[str, str] | None = None) -> Response[Any]:
    return Response(
        status_code=status,
        content_type=content_types.APPLICATION_JSON,
        body={"detail": detail},
        headers=headers,
    )


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


def internal_error() -> Response[Any]:
    return json_error(500, INTERNAL_ERROR)


def register_error_handlers(app: ApiGatewayResolver) -> None:
    @app.exception_handler(HttpError)
    def _http(exc: HttpError) -> Response[Any]:
        return json_error(exc.status, exc.detail, exc.headers)

    @app.exception_handler(RequestValidationError)
    def _validation(exc: RequestValidationError) -> Response[Any]:
        errors = list(exc.errors())
        if any(list(e.get("loc", ()))[:1] == ["response"] for e in errors):
            # Powertools reports an answer that does not fit its declared model with the same
            # error as a bad request; it is the server's fault, never the caller's.
            logger.error("a response did not match its declared model: %s", errors)
            return internal_error()
        bad_json = next((e for e in errors if e.get("type") == "json_invalid"), None)
        if bad_json is not None:
            reason = (bad_json.get("ctx") or {}).get("error", "it is not valid JSON")
            return json_error(400, f"The request body is not valid JSON: {reason}")
        return json_error(422, validation_details(errors))

    @app.exception_handler(RequestUnsupportedContentType)
    def _media_type(exc: RequestUnsupportedContentType) -> Response[Any]:
        return json_error(415, "This route takes a JSON body; send it with Content-Type: application/json.")

    @app.exception_handler(RouteNotFoundError)
    def _no_route(exc: RouteNotFoundError) -> Response[Any]:
        return json_error(404, "Not Found")

    @app.exception_handler(ItemNotStoredError)
    def _missing(exc: ItemNotStoredError) -> Response[Any]:
        # The store's message names its internal address; the caller learns only that it is gone.
        logger.warning("stored item missing: %s", exc)
        return json_error(404, "The requested item is no longer stored.")

    @app.exception_handler(IdempotencyValidationError)
    def _key_reused(exc: IdempotencyValidationError) -> Response[Any]:
        return json_error(409, "This x-idempotency-key was already used with a different request body.")

    @app.exception_handler(IdempotencyAlreadyInProgressError)
    def _key_in_flight(exc: IdempotencyAlreadyInProgressError) -> Response[Any]:
        return json_error(
            409, "A request with this x-idempotency-key is still being processed; retry shortly."
        )

    @app.exception_handler(RequestRefusedError)
    def _refused(exc: RequestRefusedError) -> Response[Any]:
        return json_error(400, exc.reason)

    @app.exception_handler(InvalidTransitionError)
    def _transition(exc: InvalidTransitionError) -> Response[Any]:
        return json_error(409, f"The run cannot do this now: {exc.reason}.")

    @app.exception_handler(RecordTooLargeError)
    def _too_large(exc: RecordTooLargeError) -> Response[Any]:
        return json_error(
            413,
            f"The run is too large to store: it would make a {exc.size // 1024} KB record, over this "
            f"deployment's {exc.limit // 1024} KB limit. The prompt and the schemas are stored apart "
            "when long; shorten the fields kept with the run (title, headers, URLs).",
        )

    @app.exception_handler(StoreUnavailableError)
    def _unavailable(exc: StoreUnavailableError) -> Response[Any]:
        logger.error("store unavailable: %s", exc)
        return json_error(503, UNAVAILABLE, {"Retry-After": RETRY_AFTER_S})

    @app.exception_handler(Exception)
    def _unexpected(exc: Exception) -> Response[Any]:
        # The stack trace goes to the operator's log, never to the caller.
        logger.exception("unhandled error")
        return internal_error()
