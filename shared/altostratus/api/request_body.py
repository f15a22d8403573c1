"""What a request body must be before any route reads it: JSON, sent as such, UTF-8, shallow
enough to parse and validate without exhausting the interpreter's stack, and valid Unicode.

Each rule refused here would otherwise surface deep in parsing or serialization as a 500;
checking up front turns it into a 4xx that names the problem.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from typing import Any

from altostratus.api.errors import BadRequestError, UnprocessableError, UnsupportedMediaTypeError
from altostratus.api.resolver import raw_body

# Deep enough for any real data_extraction_schema; shallow enough that the parser, pydantic,
# the JSON Schema checker and the encoder all stay far from Python's recursion limit.
MAX_JSON_DEPTH = 64
_METHODS_WITH_BODY = frozenset({"POST", "PUT", "PATCH", "DELETE"})
# A JSON string token (escapes included) or a bracket; everything else is irrelevant to depth.
_TOKENS = re.compile(r'"[^"\\]*(?:\\.[^"\\]*)*"|[\[\]{}]')
_SURROGATE = re.compile("[\ud800-\udfff]")


def _media_type(headers: Mapping[str, str]) -> str:
    value = next((v for k, v in headers.items() if k.lower() == "content-type"), "")
    return value.split(";", 1)[0].strip().lower()


def _is_json(media_type: str) -> bool:
    # No Content-Type at all is read as JSON, as Powertools and FastAPI do.
    return media_type in {"", "application/json"} or (
        media_type.startswith("application/") and media_type.endswith("+json")
    )


def _too_deep_member(text: str) -> tuple[bool, str | None]:
    """Whether the text nests brackets deeper than the limit, and if so the top-level member
    of an object body that does (None for a body that is not an object)."""
    depth = 0
    top_is_object = False
    last_top_string: str | None = None
    member: str | None = None
    for match in _TOKENS.finditer(text):
        token = match.group()
        if token[0] == '"':
            if depth == 1:
                last_top_string = token
            continue
        if token in "[{":
            depth += 1
            if depth == 1:
                top_is_object = token == "{"
            elif depth == 2 and top_is_object:
                # The last string before a member's value opens is that member's key.
                member = last_top_string
            if depth > MAX_JSON_DEPTH:
                name = None
                if member is not None:
                    try:
                        name = str(json.loads(member))
                    except ValueError:
                        name = None
                return True, name
        else:
            depth -= 1
    return False, None


class _NotJsonError(ValueError):
    pass


def _reject_constant(name: str) -> Any:
    raise _NotJsonError(f"{name} is not a JSON value")


def _find_surrogate(value: Any) -> list[str | int] | None:
    """The location of the first string holding an unpaired UTF-16 surrogate, if any."""
    stack: list[tuple[Any, list[str | int]]] = [(value, [])]
    while stack:
        item, loc = stack.pop()
        if isinstance(item, str):
            if _SURROGATE.search(item):
                return loc
        elif isinstance(item, dict):
            for key, child in item.items():
                if _SURROGATE.search(key):
                    return loc
                stack.append((child, [*loc, key]))
        elif isinstance(item, list):
            stack.extend((child, [*loc, i]) for i, child in enumerate(item))
    return None


def check_json_body(event: Mapping[str, Any]) -> None:
    """Raises the 4xx for a body no route could read; returns for an empty or acceptable one."""
    method = str((event.get("requestContext") or {}).get("http", {}).get("method", "")).upper()
    if method not in _METHODS_WITH_BODY:
        return
    try:
        raw = raw_body(event)
    except ValueError as exc:
        raise BadRequestError("The request body could not be decoded.") from exc
    if not raw.strip():
        return
    media_type = _media_type(event.get("headers") or {})
    if not _is_json(media_type):
        raise UnsupportedMediaTypeError(
            f"This route takes a JSON body: send it with Content-Type: application/json, not {media_type!r}."
        )
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise BadRequestError(
            f"The request body is not UTF-8 text: the byte 0x{raw[exc.start]:02x} at position "
            f"{exc.start} cannot be decoded. Send JSON encoded as UTF-8."
        ) from None
    too_deep, member = _too_deep_member(text)
    if too_deep:
        message = f"is nested more than {MAX_JSON_DEPTH} levels deep; flatten it"
        if member is not None:
            raise UnprocessableError.field(["body", member], f"{member} {message}", kind="json_too_deep")
        raise BadRequestError(f"The request body {message}.")
    try:
        parsed = json.loads(text, parse_constant=_reject_constant)
    except json.JSONDecodeError as exc:
        raise BadRequestError(
            f"The request body is not valid JSON: {exc.msg} at position {exc.pos}."
        ) from None
    except _NotJsonError as exc:
        # Python's parser accepts NaN and Infinity; JSON has no such values.
        raise BadRequestError(f"The request body is not valid JSON: {exc}.") from None
    except ValueError:
        # The only other refusal of Python's parser: an integer with thousands of digits.
        raise BadRequestError("The request body holds a number with too many digits to read.") from None
    where = _find_surrogate(parsed)
    if where is not None:
        path = ".".join(str(part) for part in ["body", *where])
        raise BadRequestError(
            f"The request body is not valid Unicode text: {path} contains an unpaired surrogate escape "
            "(such as \\ud800); JSON strings must hold whole characters."
        )
