"""What /openapi.json says beyond the routes' signatures: who may call, every status a route
can answer with (and the body it then carries), and request examples the server accepts."""

from __future__ import annotations

from typing import Any

from aws_lambda_powertools.event_handler.openapi.models import APIKey, APIKeyIn, Example, HTTPBearer
from aws_lambda_powertools.event_handler.openapi.types import OpenAPIResponse

from altostratus.wire.responses import ErrorBody, ValidationErrorBody

API_KEY = "ApiKeyHeader"
BEARER = "BearerToken"
SECURITY_SCHEMES: dict[str, Any] = {
    API_KEY: APIKey(
        name="x-api-key",
        in_=APIKeyIn.header,
        description="An API key (`alto keys create`). Missing or unknown keys are answered 403.",
    ),
    BEARER: HTTPBearer(description="The same API key sent as `Authorization: Bearer <key>`."),
}
# Either scheme authenticates; each route that needs a caller requires one of them.
AUTHENTICATED: list[dict[str, list[str]]] = [{API_KEY: []}, {BEARER: []}]
# Artifact bytes: with a key, or with nothing but the signature of an expiring link.
KEY_OR_SIGNED_LINK: list[dict[str, list[str]]] = [*AUTHENTICATED, {}]

_RETRY_AFTER = {
    "Retry-After": {"description": "Seconds to wait before retrying.", "schema": {"type": "integer"}}
}

_ERRORS: dict[int, tuple[str, type[Any]]] = {
    400: ("The request cannot be carried out as sent; `detail` says why.", ErrorBody),
    403: ("The API key is missing or unknown.", ErrorBody),
    404: ("Not found, or it belongs to another organization.", ErrorBody),
    409: ("The request conflicts with the run's state or an earlier request.", ErrorBody),
    413: ("The request body is larger than the limit.", ErrorBody),
    415: ("The request body was not sent as JSON (Content-Type: application/json).", ErrorBody),
    416: ("The requested byte range lies outside the artifact.", ErrorBody),
    422: ("A field is invalid: one entry per problem, naming the field in `loc`.", ValidationErrorBody),
    429: ("Too many requests for this API key; retry after `Retry-After` seconds.", ErrorBody),
    501: ("Skyvern's API has this route; this deployment does not serve it.", ErrorBody),
    502: ("A service this request needed (the model) failed; retry shortly.", ErrorBody),
    503: ("A backing store is briefly unavailable; retry after `Retry-After` seconds.", ErrorBody),
}


def responses(
    ok: str, *errors: int, ok_status: int = 200, overrides: dict[int, str] | None = None
) -> dict[int, OpenAPIResponse]:
    """The success answer (its body is the route's return type) and the listed error answers,
    plus 422: every route's parameters are validated, and its body is a list of field errors."""
    documented: dict[int, OpenAPIResponse] = {ok_status: {"description": ok}}
    for status in sorted({*errors, 422}):
        description, model = _ERRORS[status]
        answer: OpenAPIResponse = {
            "description": (overrides or {}).get(status, description),
            "content": {"application/json": {"model": model}},
        }
        if status in (429, 503):
            answer["headers"] = _RETRY_AFTER  # type: ignore[typeddict-item]
        documented[status] = answer
    return documented


def typed_ok(
    model: type[Any], ok: str, *errors: int, overrides: dict[int, str] | None = None
) -> dict[int, OpenAPIResponse]:
    """`responses`, for a route that returns a `Response` whose 200 body is `model`."""
    documented = responses(ok, *errors, overrides=overrides)
    documented[200] = {"description": ok, "content": {"application/json": {"model": model}}}
    return documented


# Every authenticated route can also be refused for the key, throttled, or meet a store outage.
AUTH_ERRORS = (403, 429, 503)
# Routes that read a JSON body.
BODY_ERRORS = (400, 413, 415, 422)

RUN_TASK_EXAMPLES: dict[str, Example] = {
    "simple": Example(
        summary="A goal and a starting page",
        value={"prompt": "Find the title of the page", "url": "https://example.com"},
    ),
    "extraction": Example(
        summary="Structured output, a step budget and a title",
        value={
            "prompt": "Find the price of the blue mug",
            "url": "https://shop.example.com/mugs",
            "engine": "skyvern-2.0",
            "title": "Blue mug price",
            "max_steps": 15,
            "data_extraction_schema": {
                "type": "object",
                "properties": {"price": {"type": "string"}},
                "required": ["price"],
            },
            "error_code_mapping": {"OUT_OF_STOCK": "The product page says the mug is sold out"},
        },
    ),
}


_INPUT_LOCATIONS = frozenset({"query", "header", "cookie"})


def without_impossible_422(schema: dict[str, Any]) -> dict[str, Any]:
    """The schema with 422 left out of operations that take no input a caller could get wrong:
    no request body and no query, header or cookie parameter (a path segment is any string).
    Validation is on for every route, so the generator lists 422 everywhere; an operation that
    cannot answer it must not promise it."""
    for operations in schema.get("paths", {}).values():
        for operation in operations.values():
            if not isinstance(operation, dict) or "requestBody" in operation:
                continue
            parameters = operation.get("parameters") or []
            if any(p.get("in") in _INPUT_LOCATIONS for p in parameters):
                continue
            operation.get("responses", {}).pop("422", None)
    return schema
