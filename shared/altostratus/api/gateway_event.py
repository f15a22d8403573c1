"""API Gateway HTTP API (payload format 2.0) events, built from a plain HTTP request.

The embedded server turns every request into the same event API Gateway would send the
`api` Lambda, so one resolver serves both; tests build their requests the same way.
"""

from __future__ import annotations

import base64
import time
from collections.abc import Mapping, Sequence
from typing import Any
from urllib.parse import parse_qsl, urlencode


def http_api_event(
    method: str,
    path: str,
    *,
    headers: Mapping[str, str] | None = None,
    query: str | Mapping[str, str | Sequence[str]] | None = None,
    body: bytes | str | None = None,
    source_ip: str = "127.0.0.1",
    request_id: str = "local",
) -> dict[str, Any]:
    if isinstance(query, str):
        pairs = parse_qsl(query, keep_blank_values=True)
    else:
        pairs = [
            (k, v) for k, vs in (query or {}).items() for v in ([vs] if isinstance(vs, str) else list(vs))
        ]
    grouped: dict[str, list[str]] = {}
    for key, value in pairs:
        grouped.setdefault(key, []).append(value)
    lowered = {k.lower(): v for k, v in (headers or {}).items()}
    # API Gateway passes cookies apart from the headers, one entry per cookie.
    cookie_header = lowered.pop("cookie", "")
    cookies = [c.strip() for c in cookie_header.split(";") if c.strip()]
    raw = body.encode() if isinstance(body, str) else body
    is_text = raw is None or _is_text(raw)
    now = time.time()
    return {
        "version": "2.0",
        "routeKey": "$default",
        "rawPath": path,
        "rawQueryString": urlencode(pairs),
        "headers": lowered,
        **({"cookies": cookies} if cookies else {}),
        # API Gateway joins repeated query keys with commas, as it does here.
        "queryStringParameters": {k: ",".join(v) for k, v in grouped.items()} or None,
        "requestContext": {
            "accountId": "000000000000",
            "apiId": "local",
            "domainName": lowered.get("host", "localhost"),
            "domainPrefix": "local",
            "http": {
                "method": method.upper(),
                "path": path,
                "protocol": "HTTP/1.1",
                "sourceIp": source_ip,
                "userAgent": lowered.get("user-agent", ""),
            },
            "requestId": request_id,
            "routeKey": "$default",
            "stage": "$default",
            "time": time.strftime("%d/%b/%Y:%H:%M:%S +0000", time.gmtime(now)),
            "timeEpoch": int(now * 1000),
        },
        "body": None if raw is None else (raw.decode() if is_text else base64.b64encode(raw).decode()),
        "isBase64Encoded": not is_text,
    }


def _is_text(raw: bytes) -> bool:
    try:
        raw.decode("utf-8")
    except UnicodeDecodeError:
        return False
    return True
