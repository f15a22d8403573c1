"""A fake Anthropic Messages API: a real threaded HTTP server on 127.0.0.1.

Point the real `anthropic` SDK at it (`base_url=server.base_url`, `api_key=server.api_key`).
Each `POST /v1/messages` is checked the way the API checks it (400 `invalid_request_error`
with the API's kind of message when a rule is broken), then answered by a *policy*: a function
from the parsed request to a `Reply`, which plays the model. Policies read what the engine sent
(the observation text) to choose element ids, the way a model would; see `tests/fakes/policies.py`.

    server = FakeAnthropicServer(policy)
    with server:
        llm = AnthropicLLM(api_key=server.api_key, base_url=server.base_url)
        ...
    server.exchanges        # every request body, status and response body, in order
    server.fail_next(429, 500, 529)   # the next three requests fail with these statuses

The API's request rules live in `messages_rules.py`; usage and the prompt cache in
`prompt_cache.py`. Usage is simulated, including prompt caching: tokens are estimated from the request's JSON
(~4 characters a token, images by their pixel count), `cache_control` breakpoints write the
prefix up to them into an in-memory cache (when at least `min_cacheable_tokens` long), and a
later request whose prefix matches a written one (looking back up to 20 blocks from each
breakpoint, like the API) reports those tokens as `cache_read_input_tokens`.
"""

from __future__ import annotations

import itertools
import json
import sys
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from altostratus.devtools.fake_anthropic.messages_rules import (
    InvalidRequestError,
    content_blocks,
    validate_request,
)
from altostratus.devtools.fake_anthropic.prompt_cache import PromptCache, estimate_tokens

__all__ = [
    "Exchange",
    "FakeAnthropicServer",
    "HttpError",
    "InvalidRequestError",
    "MessagesRequest",
    "Policy",
    "PromptCache",
    "Reply",
    "Text",
    "ToolUse",
    "estimate_tokens",
    "http_error",
    "validate_request",
]


# --- what a policy returns -----------------------------------------------------------------


@dataclass(frozen=True)
class Text:
    text: str


@dataclass(frozen=True)
class ToolUse:
    """A tool call. `input` is sent as given: a policy may send one that breaks the schema."""

    name: str
    input: Any
    id: str | None = None


@dataclass(frozen=True)
class Reply:
    """The model's answer: text and tool calls, in order."""

    content: tuple[Text | ToolUse, ...]
    stop_reason: str | None = None  # default: tool_use when there is a call, else end_turn

    @classmethod
    def of(cls, *content: Text | ToolUse) -> Reply:
        return cls(tuple(content))


@dataclass(frozen=True)
class HttpError:
    """An error answer, e.g. HttpError(429, "rate_limit_error") or HttpError(529, "overloaded_error")."""

    status: int
    error_type: str = "api_error"
    message: str = "simulated error"
    headers: tuple[tuple[str, str], ...] = ()


ERROR_TYPES = {
    400: "invalid_request_error",
    401: "authentication_error",
    403: "permission_error",
    404: "not_found_error",
    413: "request_too_large",
    429: "rate_limit_error",
    500: "api_error",
    529: "overloaded_error",
}


def http_error(status: int, message: str = "simulated error") -> HttpError:
    headers = (("retry-after", "0"),) if status == 429 else ()
    return HttpError(status, ERROR_TYPES.get(status, "api_error"), message, headers)


# --- the request as a policy sees it -----------------------------------------------------


@dataclass(frozen=True)
class MessagesRequest:
    """A validated request body with accessors a policy needs."""

    body: dict[str, Any]
    index: int  # 0-based count of requests the server has answered with a policy reply

    @property
    def model(self) -> str:
        return str(self.body["model"])

    @property
    def messages(self) -> list[dict[str, Any]]:
        return list(self.body["messages"])

    @property
    def tool_names(self) -> list[str]:
        return [t["name"] for t in self.body.get("tools", []) if "name" in t]

    def tool_schema(self, name: str) -> dict[str, Any]:
        for tool in self.body.get("tools", []):
            if tool["name"] == name:
                return dict(tool["input_schema"])
        raise KeyError(name)

    @property
    def forced_tool(self) -> str | None:
        """The tool the caller forces with tool_choice {"type": "tool"}, if any."""
        choice = self.body.get("tool_choice") or {}
        return str(choice["name"]) if choice.get("type") == "tool" else None

    @property
    def turn(self) -> int:
        """How many assistant turns the conversation already holds."""
        return sum(1 for m in self.messages if m["role"] == "assistant")

    def last_user_text(self) -> str:
        """All text of the newest user message, tool results included (the latest observation)."""
        return _text_of(self.messages[-1]["content"])

    def all_user_text(self) -> str:
        return "\n".join(_text_of(m["content"]) for m in self.messages if m["role"] == "user")

    def last_tool_results(self) -> dict[str, dict[str, Any]]:
        """The tool_result blocks of the newest user message, by the name of the tool they answer."""
        names: dict[str, str] = {}
        for message in self.messages:
            if message["role"] == "assistant" and isinstance(message["content"], list):
                for block in message["content"]:
                    if block.get("type") == "tool_use":
                        names[block["id"]] = block["name"]
        results: dict[str, dict[str, Any]] = {}
        content = self.messages[-1]["content"]
        for block in content if isinstance(content, list) else []:
            if block.get("type") == "tool_result":
                results[names.get(block["tool_use_id"], "?")] = block
        return results


def _text_of(content: Any) -> str:
    parts: list[str] = []
    for block in content_blocks(content):
        if block.get("type") == "text":
            parts.append(block["text"])
        elif block.get("type") == "tool_result":
            parts.append(_text_of(block.get("content", "")))
    return "\n".join(parts)


Policy = Callable[[MessagesRequest], Reply | HttpError]


# --- the server ---------------------------------------------------------------------------


@dataclass(frozen=True)
class Exchange:
    """One request and what the server answered."""

    body: Any
    status: int
    response: dict[str, Any]
    headers: dict[str, str]


class FakeAnthropicServer:
    """A Messages API on 127.0.0.1 answering from `policy`.

    Parameters
    ----------
    policy
        Plays the model: request in, `Reply` or `HttpError` out. Swap it with `set_policy`.
    api_key
        The only key accepted (others get 401, like the real API).
    delay_s
        Latency added to every answer (0 by default: tests and the bench measure the engine).
    """

    def __init__(
        self,
        policy: Policy,
        *,
        api_key: str = "sk-ant-fake-test-key",
        delay_s: float = 0.0,
        min_cacheable_tokens: int = 1024,
    ) -> None:
        self.api_key = api_key
        self.delay_s = delay_s
        self.cache = PromptCache(min_cacheable_tokens=min_cacheable_tokens)
        self._policy = policy
        self._lock = threading.Lock()
        self._failures: list[HttpError] = []
        self._answered = 0
        self._ids = itertools.count(1)
        self.exchanges: list[Exchange] = []
        self._httpd: ThreadingHTTPServer | None = None
        self._thread: threading.Thread | None = None

    # -- lifecycle --

    def start(self) -> FakeAnthropicServer:
        handler = _handler_for(self)
        self._httpd = _QuietServer(("127.0.0.1", 0), handler)
        self._httpd.daemon_threads = True
        self._thread = threading.Thread(
            target=self._httpd.serve_forever,
            kwargs={"poll_interval": 0.02},
            name="fake-anthropic",
            daemon=True,
        )
        self._thread.start()
        return self

    def stop(self) -> None:
        if self._httpd is not None:
            self._httpd.shutdown()
            self._httpd.server_close()
            self._httpd = None

    def __enter__(self) -> FakeAnthropicServer:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    @property
    def base_url(self) -> str:
        assert self._httpd is not None, "start() the server first"
        host, port = self._httpd.server_address[:2]
        return f"http://{host!s}:{port}"

    # -- scripting --

    def set_policy(self, policy: Policy) -> None:
        with self._lock:
            self._policy = policy

    def fail_next(self, *statuses: int) -> None:
        """Answer the next requests with these HTTP statuses (e.g. 429, 500, 529), then resume."""
        with self._lock:
            self._failures.extend(http_error(s) for s in statuses)

    # -- reports --

    def successful(self) -> list[Exchange]:
        return [e for e in self.exchanges if e.status == 200]

    def requests_text(self) -> Iterator[str]:
        """Every request body as JSON text (to check what was, or was not, sent)."""
        for exchange in self.exchanges:
            yield json.dumps(exchange.body)

    # -- answering --

    def handle(self, raw: bytes, headers: dict[str, str]) -> tuple[int, dict[str, Any], dict[str, str]]:
        try:
            body = json.loads(raw)
        except ValueError:
            return self._record(None, headers, 400, _error_body("invalid_request_error", "invalid JSON body"))
        # SDK 2.x sends the key as a bearer token; older clients use x-api-key.
        bearer = headers.get("authorization", "").removeprefix("Bearer ").strip()
        if self.api_key not in (headers.get("x-api-key"), bearer):
            return self._record(body, headers, 401, _error_body("authentication_error", "invalid x-api-key"))
        if not headers.get("anthropic-version"):
            return self._record(
                body,
                headers,
                400,
                _error_body("invalid_request_error", "anthropic-version header is required"),
            )
        try:
            betas = frozenset(b.strip() for b in headers.get("anthropic-beta", "").split(",") if b.strip())
            validate_request(body, betas=betas)
        except InvalidRequestError as exc:
            return self._record(body, headers, 400, _error_body("invalid_request_error", str(exc)))
        with self._lock:
            failure = self._failures.pop(0) if self._failures else None
            policy = self._policy
        if failure is None:
            with self._lock:
                index = self._answered
                self._answered += 1
            try:
                answer = policy(MessagesRequest(body=body, index=index))
            except Exception as exc:  # a broken policy is a test bug: show it as a 500
                answer = HttpError(500, "api_error", f"policy raised {type(exc).__name__}: {exc}")
        else:
            answer = failure
        if isinstance(answer, HttpError):
            return self._record(
                body,
                headers,
                answer.status,
                _error_body(answer.error_type, answer.message),
                dict(answer.headers),
            )
        return self._record(body, headers, 200, self._message(body, answer))

    def _message(self, body: dict[str, Any], reply: Reply) -> dict[str, Any]:
        content: list[dict[str, Any]] = []
        for item in reply.content:
            if isinstance(item, Text):
                content.append({"type": "text", "text": item.text})
            else:
                use_id = item.id or f"toolu_fake_{next(self._ids):06d}"
                content.append({"type": "tool_use", "id": use_id, "name": item.name, "input": item.input})
        has_call = any(isinstance(i, ToolUse) for i in reply.content)
        uncached, read, write = self.cache.account(body)
        output = sum(estimate_tokens(b) for b in content)
        return {
            "id": f"msg_fake_{next(self._ids):06d}",
            "type": "message",
            "role": "assistant",
            "model": body["model"],
            "content": content,
            "stop_reason": reply.stop_reason or ("tool_use" if has_call else "end_turn"),
            "stop_sequence": None,
            "usage": {
                "input_tokens": uncached,
                "cache_read_input_tokens": read,
                "cache_creation_input_tokens": write,
                "output_tokens": output,
            },
        }

    def _record(
        self,
        body: Any,
        headers: dict[str, str],
        status: int,
        response: dict[str, Any],
        extra_headers: dict[str, str] | None = None,
    ) -> tuple[int, dict[str, Any], dict[str, str]]:
        with self._lock:
            self.exchanges.append(Exchange(body=body, status=status, response=response, headers=headers))
        return status, response, extra_headers or {}


class _QuietServer(ThreadingHTTPServer):
    def handle_error(self, request: Any, client_address: Any) -> None:
        # Clients closing idle keep-alive connections is normal; anything else is printed.
        if not isinstance(sys.exc_info()[1], ConnectionError):
            super().handle_error(request, client_address)


def _error_body(error_type: str, message: str) -> dict[str, Any]:
    return {"type": "error", "error": {"type": error_type, "message": message}}


def _handler_for(server: FakeAnthropicServer) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"
        # Headers and body go out in separate writes; without this, Nagle + delayed ACK add ~40 ms.
        disable_nagle_algorithm = True

        def do_POST(self) -> None:
            length = int(self.headers.get("content-length") or 0)
            raw = self.rfile.read(length)
            if self.path.split("?")[0] != "/v1/messages":
                self._send(404, _error_body("not_found_error", f"no route {self.path}"), {})
                return
            if server.delay_s:
                time.sleep(server.delay_s)
            headers = {k.lower(): v for k, v in self.headers.items()}
            status, body, extra = server.handle(raw, headers)
            self._send(status, body, extra)

        def _send(self, status: int, body: dict[str, Any], extra: dict[str, str]) -> None:
            data = json.dumps(body).encode()
            self.send_response(status)
            self.send_header("content-type", "application/json")
            self.send_header("content-length", str(len(data)))
            self.send_header("request-id", f"req_fake_{next(server._ids):06d}")
            for name, value in extra.items():
                self.send_header(name, value)
            self.end_headers()
            self.wfile.write(data)

        def log_message(self, format: str, *args: Any) -> None:
            pass  # keep test output quiet

    return Handler
