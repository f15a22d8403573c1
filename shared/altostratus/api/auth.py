"""Who is calling, decided before routing and validation (so a bad key is a 403 even when
the body is also invalid, as with Skyvern's server), plus the request size limit."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from aws_lambda_powertools.event_handler.api_gateway import BaseRouter

from altostratus.api.resolver import AltoResolver, Preflight, json_response, raw_body
from altostratus.api.services import ApiServices
from altostratus.domain.keys import Principal

INVALID_CREDENTIALS = {"detail": "Invalid credentials"}
_PUBLIC_PATHS = frozenset({"/health", "/openapi.json", "/docs"})


def presented_key(headers: Mapping[str, str]) -> str | None:
    lowered = {k.lower(): v for k, v in headers.items()}
    if key := lowered.get("x-api-key", "").strip():
        return key
    scheme, _, token = lowered.get("authorization", "").partition(" ")
    if scheme.lower() == "bearer" and token.strip():
        return token.strip()
    return None


def _path(event: Mapping[str, Any], prefixes: tuple[str, ...]) -> str:
    path: str = event.get("rawPath") or event.get("requestContext", {}).get("http", {}).get("path", "/")
    for prefix in prefixes:
        if path.startswith(prefix + "/"):
            return path[len(prefix) :]
    return path


def _is_signed_content_link(event: Mapping[str, Any], path: str) -> bool:
    params = event.get("queryStringParameters") or {}
    return path.startswith("/v1/artifacts/") and path.endswith("/content") and "signature" in params


def make_preflight(services: ApiServices) -> Preflight:
    def preflight(event: Mapping[str, Any], app: AltoResolver) -> dict[str, Any] | None:
        if len(raw_body(event)) > services.config.max_body_bytes:
            limit = services.config.max_body_bytes
            return json_response(413, {"detail": f"The request body is larger than the {limit}-byte limit."})
        path = _path(event, services.config.strip_prefixes)
        if path in _PUBLIC_PATHS or path.startswith("/docs") or _is_signed_content_link(event, path):
            return None
        key = presented_key(event.get("headers") or {})
        principal = services.keys.authenticate(key) if key else None
        if principal is None:
            return json_response(403, INVALID_CREDENTIALS)
        app.context["principal"] = principal
        return None

    return preflight


def caller(router: BaseRouter) -> Principal:
    """The authenticated caller of the request being resolved (set by the preflight)."""
    principal = router.context.get("principal")
    if not isinstance(principal, Principal):
        # Routes that need a caller are never public; reaching here is a wiring mistake.
        raise RuntimeError("no authenticated caller for this request")
    return principal
