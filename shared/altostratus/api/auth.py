"""Who is calling, decided before routing and validation (so a bad key is a 403 even when
the body is also invalid, as with Skyvern's server), plus the request size limit and the
per-key rate limit."""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any

from aws_lambda_powertools.event_handler.api_gateway import BaseRouter

from altostratus.api.key_lookup import KeyLookup
from altostratus.api.resolver import AltoResolver, Preflight, json_response, raw_body
from altostratus.api.services import ApiServices
from altostratus.api.viewer.gate import authorize, is_viewer_call, is_viewer_page
from altostratus.api.viewer.session import Sessions, configured_origins
from altostratus.domain.keys import Principal
from altostratus.ports.rate_limit import RateLimiter

INVALID_CREDENTIALS = {"detail": "Invalid credentials"}
_PUBLIC_PATHS = frozenset({"/health", "/openapi.json", "/docs", "/v1/version"})


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


def _throttled(limiter: RateLimiter, principal: Principal) -> dict[str, Any] | None:
    decision = limiter.acquire(principal.key_id)
    if decision.allowed:
        return None
    wait = max(1, math.ceil(decision.retry_after_s))
    detail = (
        f"Too many requests with this API key (the limit is {limiter.limit.describe()}); retry in {wait} s."
    )
    return json_response(429, {"detail": detail}, headers={"Retry-After": str(wait)})


def make_preflight(services: ApiServices, sessions: Sessions) -> Preflight:
    lookup = KeyLookup(services.keys, services.clock, cache_seconds=services.config.key_cache_seconds)

    def viewer_call(event: Mapping[str, Any], path: str, app: AltoResolver) -> dict[str, Any] | None:
        method = str(event.get("requestContext", {}).get("http", {}).get("method", "GET")).upper()
        origins = configured_origins(services.config.app_url)
        found = authorize(event, path, method, sessions, origins)
        if isinstance(found, str):
            return json_response(403, {"detail": found})
        if found is not None:
            if services.rate_limiter is not None and (refused := _throttled(services.rate_limiter, found)):
                return refused
            app.context["principal"] = found
        return None

    def preflight(event: Mapping[str, Any], app: AltoResolver) -> dict[str, Any] | None:
        if len(raw_body(event)) > services.config.max_body_bytes:
            limit = services.config.max_body_bytes
            return json_response(413, {"detail": f"The request body is larger than the {limit}-byte limit."})
        path = _path(event, services.config.strip_prefixes)
        if path in _PUBLIC_PATHS or path.startswith("/docs") or _is_signed_content_link(event, path):
            return None
        if is_viewer_page(path):
            return None  # a page without a session redirects to sign-in; it shows no data itself
        if is_viewer_call(path):
            return viewer_call(event, path, app)
        key = presented_key(event.get("headers") or {})
        principal = lookup.authenticate(key) if key else None
        if principal is None:
            return json_response(403, INVALID_CREDENTIALS)
        # After authentication: only a key's own requests count against its bucket.
        if services.rate_limiter is not None and (refused := _throttled(services.rate_limiter, principal)):
            return refused
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
