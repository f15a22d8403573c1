"""Where clients reach this API, as seen from a request: its origin and the path prefix a proxy
in front adds (one of the configured strip_prefixes)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any


def lowered_headers(event: Mapping[str, Any]) -> dict[str, str]:
    return {str(k).lower(): str(v) for k, v in (event.get("headers") or {}).items()}


def is_https(event: Mapping[str, Any]) -> bool:
    return lowered_headers(event).get("x-forwarded-proto", "").split(",")[0].strip().lower() == "https"


def own_origin(event: Mapping[str, Any]) -> str | None:
    host = lowered_headers(event).get("host") or (event.get("requestContext") or {}).get("domainName")
    if not host:
        return None
    return f"{'https' if is_https(event) else 'http'}://{host}".lower()


def raw_path(event: Mapping[str, Any]) -> str:
    path: str = event.get("rawPath") or (event.get("requestContext") or {}).get("http", {}).get("path", "/")
    return path


def request_prefix(event: Mapping[str, Any], prefixes: tuple[str, ...]) -> str:
    path = raw_path(event)
    return next((p for p in prefixes if path == p or path.startswith(p + "/")), "")


def public_base(event: Mapping[str, Any], prefixes: tuple[str, ...]) -> str | None:
    """The base URL of this deployment for this request (None when the request names no host)."""
    origin = own_origin(event)
    return origin + request_prefix(event, prefixes) if origin else None
