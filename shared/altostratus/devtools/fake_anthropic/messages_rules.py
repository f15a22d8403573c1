"""The Messages API's request rules, as the fake server enforces them (400 when broken).

Checked: model and max_tokens; tool names, uniqueness and input schemas (valid JSON Schema of
type object); tool_choice; system blocks; roles that start with user and alternate; block types
per role; non-empty text; images (base64 that decodes and matches its media type); every
tool_use answered by a tool_result in the next user message (results first); at most four
cache_control breakpoints.
"""

from __future__ import annotations

import base64
import binascii
import functools
import json
import re
from typing import Any

import jsonschema

TOOL_NAME = re.compile(r"^[a-zA-Z0-9_-]{1,64}$")
IMAGE_TYPES = {"image/jpeg", "image/png", "image/gif", "image/webp"}
MAX_CACHE_BREAKPOINTS = 4
USER_BLOCKS = {"text", "image", "tool_result", "document"}
ASSISTANT_BLOCKS = {"text", "tool_use", "thinking", "redacted_thinking"}


def content_blocks(content: Any) -> list[dict[str, Any]]:
    """A message's content as a list of blocks (a plain string is one text block)."""
    return content if isinstance(content, list) else [{"type": "text", "text": content}]


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


# Computer tool versions: the beta flag each needs, and the models that accept it.
COMPUTER_TOOLS = {
    "computer_20241022": "computer-use-2024-10-22",
    "computer_20250124": "computer-use-2025-01-24",
    "computer_20251124": "computer-use-2025-11-24",
}
NEWEST_TOOL_MODELS = ("opus-4-5", "opus-4-6", "opus-4-7", "sonnet-4-6")
TOOLSET_ONLY_MODELS = ("opus-4-8", "-opus-5", "-sonnet-5", "-haiku-5")


def _check_computer_tool(
    tool: dict[str, Any], where: str, model: str, betas: frozenset[str]
) -> tuple[int, int]:
    kind = str(tool.get("type"))
    if kind not in COMPUTER_TOOLS:
        _fail(f"{where}.type: unknown tool type {kind!r}")
    if COMPUTER_TOOLS[kind] not in betas:
        _fail(f"{where}: the tool type {kind} requires the beta header {COMPUTER_TOOLS[kind]!r}")
    if tool.get("name") != "computer":
        _fail(f"{where}.name: must be 'computer'")
    if "input_schema" in tool:
        _fail(f"{where}.input_schema: Extra inputs are not permitted")
    if "enable_zoom" in tool and kind != "computer_20251124":
        _fail(f"{where}.enable_zoom: Extra inputs are not permitted")
    size = (tool.get("display_width_px"), tool.get("display_height_px"))
    if not all(isinstance(v, int) and not isinstance(v, bool) and v > 0 for v in size):
        _fail(f"{where}: display_width_px and display_height_px must be positive integers")
    name = model.lower()
    if any(m in name for m in TOOLSET_ONLY_MODELS):
        _fail(f"{model} supports computer use only via computer_toolset_20260801; {kind} is not supported")
    if kind == "computer_20251124" and not any(m in name for m in NEWEST_TOOL_MODELS):
        _fail(f"{kind} is not supported by {model}")
    if kind != "computer_20251124" and any(m in name for m in NEWEST_TOOL_MODELS):
        _fail(f"{kind} is not supported by {model}: use computer_20251124")
    return int(size[0]), int(size[1])  # type: ignore[arg-type]


def _image_size(block: dict[str, Any]) -> tuple[int, int] | None:
    source = block.get("source") or {}
    data = base64.b64decode(source.get("data", "") or "")
    if not data.startswith(b"\x89PNG") or data[12:16] != b"IHDR":
        return None
    return int.from_bytes(data[16:20], "big"), int.from_bytes(data[20:24], "big")


def _check_screenshots(messages: list[dict[str, Any]], display: tuple[int, int]) -> None:
    """Strict mode of the fake: every screenshot is exactly the declared display (the real API
    would silently downscale a bigger one, which breaks the model's coordinates)."""
    count = 0
    for i, message in enumerate(messages):
        if message.get("role") != "user":
            continue
        for block in content_blocks(message.get("content")):
            inner = (
                content_blocks(block.get("content", "")) if block.get("type") == "tool_result" else [block]
            )
            for sub in inner:
                if sub.get("type") != "image":
                    continue
                count += 1
                size = _image_size(sub)
                if size is not None and size != display:
                    _fail(
                        f"messages.{i}: the screenshot is {size[0]}x{size[1]} but the computer tool declares "
                        f"{display[0]}x{display[1]}"
                    )
    if count > 100:
        _fail(f"Too many images: {count} (at most 100 per request)")


def validate_request(body: Any, *, betas: frozenset[str] = frozenset()) -> None:
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
    display: tuple[int, int] | None = None
    for i, tool in enumerate(tools):
        where = f"tools.{i}"
        name = tool.get("name")
        if "type" in tool and tool["type"] != "custom":
            display = _check_computer_tool(tool, where, str(body["model"]), betas)
            if name in names:
                _fail(f"tools: Tool names must be unique. Duplicate: {name}")
            names.add(str(name))
            _check_cache_control(tool, where, cache_marks)
            continue
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
                    answered.add(str(use_id))
                    inner = block.get("content", "")
                    for k, sub in enumerate(content_blocks(inner) if inner != "" else []):
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
    if display is not None:
        _check_screenshots(messages, display)
    if cache_marks[0] > MAX_CACHE_BREAKPOINTS:
        _fail(
            f"A maximum of {MAX_CACHE_BREAKPOINTS} blocks with cache_control may be provided. "
            f"Found {cache_marks[0]}."
        )
