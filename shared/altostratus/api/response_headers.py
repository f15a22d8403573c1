"""Headers every answer of the API carries, added in one place so both runtimes send them.

The API origin also serves artifact bytes (pages the agent scraped, files it downloaded), so
nothing it answers may be sniffed into a document, framed, or leak its URL (signed links carry
their signature in the query) to another site.
"""

from __future__ import annotations

from typing import Any

# JSON and errors: nothing to render, nothing to load, never framed.
API_CSP = "default-src 'none'; frame-ancestors 'none'; sandbox"
ALWAYS = {"X-Content-Type-Options": "nosniff", "Referrer-Policy": "no-referrer"}


def header(headers: dict[str, Any], name: str) -> str | None:
    """A header's value, whatever the case of its name."""
    lowered = name.lower()
    return next((str(v) for k, v in headers.items() if k.lower() == lowered), None)


def secure(response: dict[str, Any]) -> dict[str, Any]:
    """The finished HTTP API response with the API's standing headers added (a route's own
    Content-Security-Policy or Cache-Control is kept)."""
    headers: dict[str, Any] = dict(response.get("headers") or {})
    for name, value in ALWAYS.items():
        if header(headers, name) is None:
            headers[name] = value
    if header(headers, "Content-Security-Policy") is None:
        headers["Content-Security-Policy"] = API_CSP
    content_type = (header(headers, "Content-Type") or "").lower()
    if content_type.startswith("application/json") and header(headers, "Cache-Control") is None:
        # Run states and signed links go stale and are private: no cache may keep them.
        headers["Cache-Control"] = "no-store"
    return {**response, "headers": headers}
