"""Loads the Lambda entry points in functions/<name>/app.py the way Lambda does (by file), and
reaches the api function over HTTP as API Gateway would."""

from __future__ import annotations

import base64
import importlib.util
import json
import sys
from collections.abc import Callable
from pathlib import Path
from types import ModuleType
from typing import Any

import httpx

from altostratus.api.gateway_event import http_api_event

ROOT = Path(__file__).resolve().parents[2]


def load_function(name: str) -> ModuleType:
    path = ROOT / "functions" / name / "app.py"
    module_name = f"lambda_{name}_app"
    sys.modules.pop(module_name, None)
    spec = importlib.util.spec_from_file_location(module_name, path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[module_name] = module
    spec.loader.exec_module(module)
    return module


def load_event(name: str, **replacements: str) -> dict[str, Any]:
    text = (ROOT / "events" / f"{name}.json").read_text()
    for old, new in replacements.items():
        text = text.replace(old, new)
    event: dict[str, Any] = json.loads(text)
    return event


class FakeLambdaContext:
    # Time left as at the start of an invocation of the longest function (agent_step: 900 s).
    def __init__(self, name: str = "altostratus-test", remaining_ms: int = 900_000) -> None:
        self.function_name = name
        self.function_version = "$LATEST"
        self.memory_limit_in_mb = 512
        self.invoked_function_arn = f"arn:aws:lambda:us-east-1:123456789012:function:{name}"
        self.aws_request_id = "test-request"
        self.log_group_name = f"/aws/lambda/{name}"
        self.log_stream_name = "test"
        self._remaining = remaining_ms

    def get_remaining_time_in_millis(self) -> int:
        return self._remaining


LambdaHandler = Callable[[dict[str, Any], Any], dict[str, Any]]


def function_client(handler: LambdaHandler, *, name: str = "api") -> httpx.Client:
    """An httpx client whose requests reach a Lambda handler as API Gateway HTTP API events, as
    deployed: method, path, query, headers and body go in; status, headers and body (base64 when
    the function says so) come back, and the answer's `cookies` as Set-Cookie headers (API
    Gateway's translation), which the client keeps and sends back as a browser would. The
    official SDK takes it as its `httpx_client`."""

    def handle(request: httpx.Request) -> httpx.Response:
        event = http_api_event(
            request.method,
            request.url.path,
            # API Gateway says which scheme the caller used; links the function hands out use it.
            headers={**request.headers, "x-forwarded-proto": request.url.scheme},
            query=request.url.query.decode(),
            body=request.content or None,
        )
        out = handler(event, FakeLambdaContext(name))
        body = out.get("body") or ""
        content = base64.b64decode(body) if out.get("isBase64Encoded") else body.encode()
        cookies = [("set-cookie", cookie) for cookie in out.get("cookies") or []]
        headers = [*(out.get("headers") or {}).items(), *cookies]
        return httpx.Response(out["statusCode"], headers=headers, content=content)

    return httpx.Client(transport=httpx.MockTransport(handle))
