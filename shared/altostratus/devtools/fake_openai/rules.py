"""The request rules the fake enforces, as the real APIs do (400 `invalid_request_error`).

Responses API: a computer tool of the model's family (the preview tool with its display and
environment for `computer-use-preview*`, `{"type": "computer"}` otherwise), `truncation:
"auto"` with the preview, input items of known types, images that decode, a known
`previous_response_id` whose every call is answered exactly once and whose safety checks are
acknowledged, and screenshots exactly the declared display (preview).

Chat Completions (UI-TARS): `model`, `max_tokens`, the first message a user string holding the
prompt template's sections, image data URLs, at most `image_limit` images per request.
"""

from __future__ import annotations

import base64
import binascii
from typing import Any

from altostratus.devtools.cua_script import png_size

ENVIRONMENTS = {"windows", "mac", "linux", "ubuntu", "browser"}
SUMMARIES = {"auto", "concise", "detailed"}


class InvalidRequestError(Exception):
    def __init__(self, message: str, param: str | None = None) -> None:
        super().__init__(message)
        self.param = param


def _fail(message: str, param: str | None = None) -> None:
    raise InvalidRequestError(message, param)


def decode_image(url: Any, where: str) -> bytes:
    if not isinstance(url, str) or not url.startswith("data:image/"):
        _fail(f"Invalid image URL in {where}: expected a base64 data URL.", where)
    assert isinstance(url, str)
    header, _, data = url.partition(",")
    if not header.endswith(";base64"):
        _fail(f"Invalid image URL in {where}.", where)
    try:
        raw = base64.b64decode(data, validate=True)
    except (binascii.Error, ValueError):
        _fail(f"Invalid base64 image data in {where}.", where)
        return b""
    if not raw.startswith((b"\x89PNG", b"\xff\xd8")):
        _fail(f"The image in {where} is not a PNG or JPEG.", where)
    return raw


def computer_tool(body: dict[str, Any]) -> dict[str, Any]:
    model = str(body.get("model", ""))
    preview = model.startswith("computer-use-preview")
    tools = body.get("tools") or []
    computers = [
        t for t in tools if t.get("type") in ("computer_use_preview", "computer-preview", "computer")
    ]
    if len(computers) != 1:
        _fail("Exactly one computer tool is required for computer use.", "tools")
    tool = computers[0]
    if preview and tool["type"] == "computer":
        _fail(f"The computer tool is not supported with {model}; use computer_use_preview.", "tools")
    if not preview and tool["type"] != "computer":
        _fail(f"computer_use_preview is only supported with computer-use-preview, not {model}.", "tools")
    if preview:
        for key in ("display_width", "display_height"):
            value = tool.get(key)
            if not isinstance(value, int) or isinstance(value, bool) or value <= 0:
                _fail(f"Missing required parameter: 'tools[0].{key}'.", f"tools[0].{key}")
        if tool.get("environment") not in ENVIRONMENTS:
            _fail("Invalid value for 'tools[0].environment'.", "tools[0].environment")
    elif set(tool) - {"type"}:
        _fail(f"Unknown parameter: 'tools[0].{sorted(set(tool) - {'type'})[0]}'.", "tools")
    for i, other in enumerate(tools):
        if other.get("type") == "function":
            params = other.get("parameters")
            if not isinstance(other.get("name"), str) or not isinstance(params, dict):
                _fail(f"Invalid function tool at tools[{i}].", f"tools[{i}]")
    return dict(tool)


def check_responses(body: Any, store: dict[str, dict[str, Any]]) -> tuple[dict[str, Any], list[bytes]]:
    """Validate a /v1/responses body; the computer tool and the screenshots it carries."""
    if not isinstance(body, dict):
        _fail("The body must be a JSON object.")
    if not isinstance(body.get("model"), str):
        _fail("Missing required parameter: 'model'.", "model")
    tool = computer_tool(body)
    preview = tool["type"] != "computer"
    if preview and body.get("truncation") != "auto":
        _fail("truncation must be 'auto' for computer-use-preview.", "truncation")
    reasoning = body.get("reasoning") or {}
    if reasoning.get("summary") not in (None, *SUMMARIES):
        _fail("Invalid value for 'reasoning.summary'.", "reasoning.summary")
    items = body.get("input")
    if isinstance(items, str):
        items = [{"role": "user", "content": items}]
    if not isinstance(items, list) or not items:
        _fail("Missing required parameter: 'input'.", "input")
    images: list[bytes] = []
    answered: dict[str, dict[str, Any]] = {}
    for i, item in enumerate(items):
        kind = item.get("type", "message" if "role" in item else None)
        where = f"input[{i}]"
        if kind == "message":
            content = item.get("content")
            for j, part in enumerate(content if isinstance(content, list) else []):
                if part.get("type") == "input_image":
                    if body.get("previous_response_id"):
                        _fail(
                            "A user input_image cannot be combined with previous_response_id "
                            "for computer use."
                        )
                    images.append(decode_image(part.get("image_url"), f"{where}.content[{j}]"))
                elif part.get("type") != "input_text":
                    _fail(f"Invalid content type at {where}.content[{j}].", where)
        elif kind in ("computer_call_output", "function_call_output"):
            call_id = item.get("call_id")
            if call_id in answered:
                _fail(f"Duplicate output for call {call_id}.", where)
            answered[str(call_id)] = item
            if kind == "computer_call_output":
                output = item.get("output") or {}
                if output.get("type") not in ("computer_screenshot", "input_image"):
                    _fail(f"Invalid output type at {where}.output.", where)
                images.append(decode_image(output.get("image_url"), f"{where}.output"))
        else:
            _fail(f"Invalid input item type {kind!r} at {where}.", where)
    previous = body.get("previous_response_id")
    if previous is not None:
        prior = store.get(str(previous))
        if prior is None:
            _fail(f"Previous response with id '{previous}' not found.", "previous_response_id")
        assert prior is not None
        for out in prior["output"]:
            if out["type"] not in ("computer_call", "function_call"):
                continue
            given = answered.pop(out["call_id"], None)
            if given is None:
                _fail(f"No tool output found for {out['type'].replace('_', ' ')} {out['call_id']}.", "input")
            assert given is not None
            pending = {c["id"] for c in out.get("pending_safety_checks") or []}
            acked = {c.get("id") for c in given.get("acknowledged_safety_checks") or []}
            if pending - acked:
                _fail(f"Safety checks {sorted(pending - acked)} were not acknowledged.", "input")
        if answered:
            _fail(f"No tool call found for output with call_id {next(iter(answered))}.", "input")
    elif answered:
        _fail(f"No tool call found for output with call_id {next(iter(answered))}.", "input")
    if preview:
        display = (tool["display_width"], tool["display_height"])
        for image in images:
            size = png_size(image)
            if size is not None and size != display:
                _fail(f"The screenshot is {size[0]}x{size[1]} but the display is {display[0]}x{display[1]}.")
    return tool, images


def check_chat(body: Any, image_limit: int) -> list[bytes]:
    if not isinstance(body, dict):
        _fail("The body must be a JSON object.")
    if not isinstance(body.get("model"), str):
        _fail("model is required", "model")
    if not isinstance(body.get("max_tokens"), int):
        _fail("max_tokens is required by this deployment", "max_tokens")
    messages = body.get("messages")
    if not isinstance(messages, list) or not messages:
        _fail("messages is required", "messages")
    assert isinstance(messages, list)
    first = messages[0]
    if first.get("role") != "user" or not isinstance(first.get("content"), str):
        _fail("The first message must be the prompt template as a user string.")
    if "## Action Space" not in first["content"] or "## User Instruction" not in first["content"]:
        _fail("The prompt template's sections are missing.")
    images: list[bytes] = []
    for i, message in enumerate(messages):
        if message.get("role") not in ("user", "assistant", "system"):
            _fail(f"messages[{i}].role is invalid")
        content = message.get("content")
        if isinstance(content, list):
            for j, part in enumerate(content):
                if part.get("type") == "image_url":
                    images.append(
                        decode_image((part.get("image_url") or {}).get("url"), f"messages[{i}].content[{j}]")
                    )
                elif part.get("type") != "text":
                    _fail(f"messages[{i}].content[{j}].type is invalid")
        elif not isinstance(content, str):
            _fail(f"messages[{i}].content is invalid")
    if len(images) > image_limit:
        _fail(f"At most {image_limit} image(s) may be provided in one request.")
    return images
