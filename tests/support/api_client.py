"""Calls the API resolver in-process with real API Gateway HTTP API events."""

from __future__ import annotations

import base64
import json
from dataclasses import dataclass
from typing import Any

from altostratus.api.gateway_event import http_api_event
from altostratus.api.resolver import AltoResolver


@dataclass
class Reply:
    status: int
    headers: dict[str, str]
    body: bytes

    def json(self) -> Any:
        return json.loads(self.body)


class ApiClient:
    def __init__(self, app: AltoResolver, key: str | None) -> None:
        self.app = app
        self.key = key

    def call(
        self,
        method: str,
        path: str,
        *,
        json_body: Any = None,
        raw: bytes | str | None = None,
        query: dict[str, Any] | None = None,
        headers: dict[str, str] | None = None,
        key: str | None = "default",
    ) -> Reply:
        sent = {"content-type": "application/json", **(headers or {})}
        use_key = self.key if key == "default" else key
        if use_key is not None:
            sent["x-api-key"] = use_key
        body = raw if raw is not None else (json.dumps(json_body) if json_body is not None else None)
        event = http_api_event(method, path, headers=sent, query=query, body=body)
        out = self.app.resolve(event, None)
        data = out.get("body") or ""
        payload = base64.b64decode(data) if out.get("isBase64Encoded") else data.encode()
        return Reply(status=out["statusCode"], headers=dict(out.get("headers") or {}), body=payload)

    def get(self, path: str, **kwargs: Any) -> Reply:
        return self.call("GET", path, **kwargs)

    def post(self, path: str, **kwargs: Any) -> Reply:
        return self.call("POST", path, **kwargs)
