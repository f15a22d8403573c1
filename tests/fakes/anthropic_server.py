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

Usage is simulated, including prompt caching: tokens are estimated from the request's JSON
(~4 characters a token, images by their pixel count), `cache_control` breakpoints write the
prefix up to them into an in-memory cache (when at least `min_cacheable_tokens` long), and a
later request whose prefix matches a written one (looking back up to 20 blocks from each
breakpoint, like the API) reports those tokens as `cache_read_input_tokens`.
"""

from __future__ import annotations

import base64
import binascii
import functools
import hashlib
import itertools
import json
import math
import re
import struct
import sys
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import jsonschema

TOOL_NAME = re.compile(r"^[a-zA-Z0-9_-]{1,64}$")
IMAGE_TYPES = {"image/jpeg", "image/png", "image/gif", "image/webp"}
MAX_CACHE_BREAKPOINTS = 4
CACHE_LOOKBACK_BLOCKS = 20
USER_BLOCKS = {"text", "image", "tool_result", "document"}
ASSISTANT_BLOCKS = {"text", "tool_use", "thinking", "redacted_thinking"}


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
        return [t["name"] for t in self.body.get("tools", [])]

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
    def system_text(self) -> str:
        system = self.body.get("system", "")
        if isinstance(system, str):
            return system
        return "\n".join(b.get("text", "") for b in system)

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

    def image_count(self) -> int:
        return sum(1 for m in self.messages for b in _blocks(m["content"]) if _has_image(b))


def _blocks(content: Any) -> list[dict[str, Any]]:
    return content if isinstance(content, list) else [{"type": "text", "text": content}]


def _has_image(block: dict[str, Any]) -> bool:
    if block.get("type") == "image":
        return True
    if block.get("type") == "tool_result":
        return any(_has_image(b) for b in _blocks(block.get("content", "")))
    return False


def _text_of(content: Any) -> str:
    parts: list[str] = []
    for block in _blocks(content):
        if block.get("type") == "text":
            parts.append(block["text"])
        elif block.get("type") == "tool_result":
            parts.append(_text_of(block.get("content", "")))
    return "\n".join(parts)


Policy = Callable[[MessagesRequest], Reply | HttpError]


# --- validation, as the API does it -------------------------------------------------------


class InvalidRequestError(Exception):
    """The request breaks a rule of the Messages API (answered with 400)."""


def _fail(message: str) -> None:
    raise InvalidRequestError(message)


def _check_cache_control(block: dict[str, Any], where: str, count: list[int]) -> None:
    marker = block.get("cache_control")
    if marker is None:
        return
    if not isinstance(marker, dict) or marker.get("type") != "ephemeral":
        _fail(f"{where}.cache_control: type must be 'ephemeral'")
    if marker.get("ttl") not in (None, "5m", "1h"):
        _fail(f"{where}.cache_control.ttl: must be '5m' or '1h'")
    count[0] += 1


def _check_image(block: dict[str, Any], where: str) -> None:
    source = block.get("source")
    if not isinstance(source, dict) or source.get("type") not in ("base64", "url"):
        _fail(f"{where}.source: must be a base64 or url image source")
    assert isinstance(source, dict)
    if source["type"] == "url":
        return
    media_type = source.get("media_type")
    if media_type not in IMAGE_TYPES:
        _fail(f"{where}.source.media_type: must be one of {sorted(IMAGE_TYPES)}")
    try:
        data = base64.b64decode(source.get("data", ""), validate=True)
    except (binascii.Error, ValueError):
        _fail(f"{where}.source.data: invalid base64 data")
        return
    if not data:
        _fail(f"{where}.source.data: image is empty")
    actual = _sniff_image(data)
    if actual is not None and actual != media_type:
        _fail(f"{where}: Image does not match the provided media type {media_type}")


def _sniff_image(data: bytes) -> str | None:
    if data.startswith(b"\x89PNG"):
        return "image/png"
    if data.startswith(b"\xff\xd8"):
        return "image/jpeg"
    if data.startswith(b"GIF8"):
        return "image/gif"
    if data[:4] == b"RIFF" and data[8:12] == b"WEBP":
        return "image/webp"
    return None


def _check_text(block: dict[str, Any], where: str) -> None:
    if not isinstance(block.get("text"), str):
        _fail(f"{where}.text: Field required")
    if not block["text"].strip():
        _fail(f"{where}: text content blocks must contain non-whitespace text")


@functools.lru_cache(maxsize=512)
def _schema_problem(schema_json: str) -> str | None:
    """Why a tool's input schema is not valid JSON Schema (cached: the same tools come every call)."""
    try:
        jsonschema.Draft202012Validator.check_schema(json.loads(schema_json))
    except jsonschema.SchemaError as exc:
        return str(exc.message)
    return None


def validate_request(body: Any) -> None:
    """Raise InvalidRequestError for what the Messages API would refuse."""
    if not isinstance(body, dict):
        _fail("body: must be a JSON object")
    if not isinstance(body.get("model"), str) or not body["model"]:
        _fail("model: Field required")
    max_tokens = body.get("max_tokens")
    if not isinstance(max_tokens, int) or max_tokens < 1:
        _fail("max_tokens: must be a positive integer")
    cache_marks = [0]

    tools = body.get("tools", [])
    names: set[str] = set()
    for i, tool in enumerate(tools):
        where = f"tools.{i}"
        name = tool.get("name")
        if not isinstance(name, str) or not TOOL_NAME.match(name):
            _fail(f"{where}.name: String should match pattern '^[a-zA-Z0-9_-]{{1,64}}$'")
        if name in names:
            _fail(f"tools: Tool names must be unique. Duplicate: {name}")
        names.add(name)
        schema = tool.get("input_schema")
        if not isinstance(schema, dict) or schema.get("type") != "object":
            _fail(f"{where}.input_schema.type: Input should be 'object'")
        problem = _schema_problem(json.dumps(schema, sort_keys=True))
        if problem is not None:
            _fail(f"{where}.input_schema: JSON schema is invalid: {problem}")
        _check_cache_control(tool, where, cache_marks)

    choice = body.get("tool_choice")
    if choice is not None:
        kind = choice.get("type")
        if kind not in ("auto", "any", "tool", "none"):
            _fail("tool_choice.type: must be auto, any, tool or none")
        if kind == "tool" and choice.get("name") not in names:
            _fail(f"tool_choice.name: tool {choice.get('name')!r} is not in tools")
        if kind in ("any", "tool") and not names:
            _fail("tool_choice: requires tools")

    system = body.get("system")
    if system is not None and not isinstance(system, str):
        for i, block in enumerate(system):
            if block.get("type") != "text":
                _fail(f"system.{i}.type: Input should be 'text'")
            _check_text(block, f"system.{i}")
            _check_cache_control(block, f"system.{i}", cache_marks)

    messages = body.get("messages")
    if not isinstance(messages, list) or not messages:
        _fail("messages: at least one message is required")
    assert isinstance(messages, list)
    if messages[0].get("role") != "user":
        _fail('messages: first message must use the "user" role')
    pending_tool_uses: set[str] = set()
    seen_ids: set[str] = set()
    for i, message in enumerate(messages):
        role = message.get("role")
        if role not in ("user", "assistant"):
            _fail(f"messages.{i}.role: Input should be 'user' or 'assistant'")
        if i > 0 and role == messages[i - 1].get("role"):
            _fail('messages: roles must alternate between "user" and "assistant"')
        content = message.get("content")
        if isinstance(content, str):
            if not content.strip() and not (role == "assistant" and i == len(messages) - 1):
                _fail(f"messages.{i}: text content blocks must contain non-whitespace text")
            blocks: list[dict[str, Any]] = []
        elif isinstance(content, list) and content:
            blocks = content
        else:
            _fail(f"messages.{i}.content: must be a string or a non-empty list of blocks")
            blocks = []
        if role == "user":
            answered: set[str] = set()
            seen_other = False
            for j, block in enumerate(blocks):
                where = f"messages.{i}.content.{j}"
                kind = block.get("type")
                if kind not in USER_BLOCKS:
                    _fail(f"{where}.type: {kind!r} is not allowed in a user message")
                _check_cache_control(block, where, cache_marks)
                if kind == "tool_result":
                    if seen_other:
                        _fail(f"{where}: tool_result blocks must come before any other content")
                    use_id = block.get("tool_use_id")
                    if use_id not in pending_tool_uses:
                        _fail(
                            f"{where}: unexpected `tool_use_id` found in `tool_result` blocks: {use_id}. "
                            "Each `tool_result` block must have a corresponding `tool_use` block in the "
                            "previous message."
                        )
                    answered.add(use_id)
                    inner = block.get("content", "")
                    for k, sub in enumerate(_blocks(inner) if inner != "" else []):
                        sub_where = f"{where}.content.{k}"
                        if sub.get("type") == "text":
                            _check_text(sub, sub_where)
                        elif sub.get("type") == "image":
                            _check_image(sub, sub_where)
                        else:
                            _fail(f"{sub_where}.type: tool_result content must be text or image")
                else:
                    seen_other = True
                    if kind == "text":
                        _check_text(block, where)
                    elif kind == "image":
                        _check_image(block, where)
            missing = pending_tool_uses - answered
            if missing:
                _fail(
                    f"messages.{i}: `tool_use` ids were found without `tool_result` blocks immediately "
                    f"after: {', '.join(sorted(missing))}. Each `tool_use` block must have a "
                    "corresponding `tool_result` block in the next message."
                )
            pending_tool_uses = set()
        else:
            if pending_tool_uses:
                _fail(f"messages.{i}: tool_use blocks must be answered by the next user message")
            for j, block in enumerate(blocks):
                where = f"messages.{i}.content.{j}"
                kind = block.get("type")
                if kind not in ASSISTANT_BLOCKS:
                    _fail(f"{where}.type: {kind!r} is not allowed in an assistant message")
                _check_cache_control(block, where, cache_marks)
                if kind == "text":
                    _check_text(block, where)
                elif kind == "tool_use":
                    use_id = block.get("id")
                    if not isinstance(use_id, str) or use_id in seen_ids:
                        _fail(f"{where}.id: tool_use ids must be unique strings")
                    assert isinstance(use_id, str)
                    if not names:
                        _fail("Requests which include `tool_use` blocks must define tools.")
                    if not isinstance(block.get("input"), dict):
                        _fail(f"{where}.input: Input should be a valid dictionary")
                    seen_ids.add(use_id)
                    pending_tool_uses.add(use_id)
    if pending_tool_uses:
        _fail("messages: the final assistant message has tool_use blocks without tool_result blocks")
    if cache_marks[0] > MAX_CACHE_BREAKPOINTS:
        _fail(
            f"A maximum of {MAX_CACHE_BREAKPOINTS} blocks with cache_control may be provided. "
            f"Found {cache_marks[0]}."
        )


# --- usage and prompt caching ------------------------------------------------------------


def _canonical(block: Any) -> str:
    if isinstance(block, dict):
        block = {k: v for k, v in block.items() if k != "cache_control"}
    return json.dumps(block, sort_keys=True, separators=(",", ":"))


def _image_tokens(block: dict[str, Any]) -> int:
    source = block.get("source", {})
    try:
        data = base64.b64decode(source.get("data", ""))
    except (binascii.Error, ValueError):
        return 1600
    if data.startswith(b"\x89PNG") and len(data) >= 24:
        width, height = struct.unpack(">II", data[16:24])
        return max(1, min(1600, math.ceil(width * height / 750)))
    return 1600


def estimate_tokens(block: Any) -> int:
    """About 4 characters a token for JSON text; images by pixel count (the API's w*h/750)."""
    if isinstance(block, dict) and block.get("type") == "image":
        return _image_tokens(block)
    if (
        isinstance(block, dict)
        and block.get("type") == "tool_result"
        and isinstance(block.get("content"), list)
    ):
        rest = {k: v for k, v in block.items() if k != "content"}
        return estimate_tokens(rest) + sum(estimate_tokens(b) for b in block["content"])
    return max(1, math.ceil(len(_canonical(block)) / 4))


@dataclass
class _Unit:
    digest: str
    cumulative_tokens: int
    breakpoint: bool


def _prefix_units(body: dict[str, Any]) -> list[_Unit]:
    """The request in cache order (tools, system, then message blocks), hashed cumulatively."""
    raw: list[tuple[Any, bool]] = []
    for tool in body.get("tools", []):
        raw.append((tool, "cache_control" in tool))
    system = body.get("system")
    for block in [{"type": "text", "text": system}] if isinstance(system, str) else system or []:
        raw.append((block, "cache_control" in block))
    for message in body["messages"]:
        raw.append(({"role": message["role"]}, False))
        for block in _blocks(message["content"]):
            raw.append((block, "cache_control" in block))
    units: list[_Unit] = []
    digest = hashlib.sha256(body["model"].encode())
    total = 0
    for block, marked in raw:
        digest = digest.copy()
        digest.update(_canonical(block).encode())
        total += estimate_tokens(block)
        units.append(_Unit(digest.hexdigest(), total, marked))
    return units


@dataclass
class PromptCache:
    """Written prefixes by digest; thread-safe."""

    min_cacheable_tokens: int = 1024
    _written: set[str] = field(default_factory=set)
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def account(self, body: dict[str, Any]) -> tuple[int, int, int]:
        """(uncached input, cache read, cache write) tokens for this request; writes its breakpoints."""
        units = _prefix_units(body)
        total = units[-1].cumulative_tokens if units else 0
        marks = [i for i, u in enumerate(units) if u.breakpoint]
        with self._lock:
            hit = -1
            for mark in marks:
                for i in range(mark, max(-1, mark - CACHE_LOOKBACK_BLOCKS), -1):
                    if units[i].digest in self._written:
                        hit = max(hit, i)
                        break
            read = units[hit].cumulative_tokens if hit >= 0 else 0
            write = 0
            for mark in marks:
                if units[mark].cumulative_tokens >= self.min_cacheable_tokens and mark > hit:
                    self._written.add(units[mark].digest)
                    write = units[mark].cumulative_tokens - read
        return total - read - write, read, write


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

    def reset(self) -> None:
        with self._lock:
            self.exchanges.clear()
            self._failures.clear()

    # -- reports --

    def successful(self) -> list[Exchange]:
        return [e for e in self.exchanges if e.status == 200]

    def usage_totals(self) -> dict[str, int]:
        totals: dict[str, int] = {}
        for exchange in self.successful():
            for key, value in exchange.response["usage"].items():
                if isinstance(value, int):
                    totals[key] = totals.get(key, 0) + value
        return totals

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
            validate_request(body)
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
