"""The Powertools HTTP API resolver, made safe to share between request threads.

Powertools keeps the request being resolved on the resolver (and on a class attribute of
BaseRouter). Lambda resolves one request per process, but the embedded server resolves
several at once on worker threads, so the per-request state lives in a thread-local here —
the same idea as Powertools' own ASGI resolver, which keeps it in a ContextVar.
"""

from __future__ import annotations

import base64
import json
import threading
from collections.abc import Callable, Mapping
from typing import Any

from aws_lambda_powertools.event_handler import APIGatewayHttpResolver
from aws_lambda_powertools.utilities.data_classes.common import BaseProxyEvent

# A hook run before routing and validation; returns a finished response to short-circuit.
Preflight = Callable[[Mapping[str, Any], "AltoResolver"], dict[str, Any] | None]


class _RequestState(threading.local):
    def __init__(self) -> None:
        self.event: BaseProxyEvent | None = None
        self.lambda_context: Any = None
        self.context: dict[str, Any] = {}
        self.frames: list[str] = []


class AltoResolver(APIGatewayHttpResolver):
    def __init__(self, *, preflight: Preflight | None = None, **kwargs: Any) -> None:
        self._state = _RequestState()
        self._preflight = preflight
        super().__init__(**kwargs)

    @property  # type: ignore[override]
    def current_event(self) -> BaseProxyEvent:
        assert self._state.event is not None, "no request is being resolved on this thread"
        return self._state.event

    @current_event.setter
    def current_event(self, value: BaseProxyEvent) -> None:
        self._state.event = value

    @property
    def lambda_context(self) -> Any:
        return self._state.lambda_context

    @lambda_context.setter
    def lambda_context(self, value: Any) -> None:
        self._state.lambda_context = value

    @property
    def context(self) -> dict[str, Any]:
        return self._state.context

    @context.setter
    def context(self, value: dict[str, Any]) -> None:
        self._state.context = value

    @property
    def processed_stack_frames(self) -> list[str]:
        return self._state.frames

    @processed_stack_frames.setter
    def processed_stack_frames(self, value: list[str]) -> None:
        self._state.frames = value

    def resolve(self, event: Mapping[str, Any], context: Any) -> dict[str, Any]:
        self._state.event = self._to_proxy_event(dict(event))
        self._state.lambda_context = context
        self._state.context = {}
        self._state.frames = []
        if self._preflight is not None:
            early = self._preflight(event, self)
            if early is not None:
                return early
        result: dict[str, Any] = super().resolve(event, context)
        return result


def json_response(status: int, body: Any, headers: dict[str, str] | None = None) -> dict[str, Any]:
    """A finished HTTP API (payload 2.0) response, for answers given before routing."""
    return {
        "statusCode": status,
        "headers": {"Content-Type": "application/json", **(headers or {})},
        "body": json.dumps(body, separators=(",", ":")),
        "isBase64Encoded": False,
    }


def raw_body(event: Mapping[str, Any]) -> bytes:
    body = event.get("body") or ""
    if event.get("isBase64Encoded"):
        return base64.b64decode(body)
    return body.encode() if isinstance(body, str) else bytes(body)
