"""Mapping helpers the three protocol adapters share."""

from __future__ import annotations

from typing import Any

from altostratus.domain.enums import ActionType
from altostratus.engine.cua.model import Planned
from altostratus.engine.cua.task import BACK_DESCRIPTION, GOTO_DESCRIPTION
from altostratus.ports.computer import PixelAction, PixelType

GOTO, BACK = "goto", "back"
GOTO_SCHEMA: dict[str, Any] = {
    "type": "object",
    "properties": {"url": {"type": "string", "description": "The address, e.g. https://example.com"}},
    "required": ["url"],
    "additionalProperties": False,
}
EMPTY_SCHEMA: dict[str, Any] = {"type": "object", "properties": {}, "additionalProperties": False}
FUNCTION_TOOLS = ((GOTO, GOTO_DESCRIPTION, GOTO_SCHEMA), (BACK, BACK_DESCRIPTION, EMPTY_SCHEMA))


def browser_call(call_id: str, name: str, params: dict[str, Any]) -> Planned:
    """goto/back, run through the browser's own navigation (address policy included)."""
    if name == GOTO:
        url = params.get("url")
        if not isinstance(url, str) or not url:
            return Planned(
                call_id=call_id,
                name=name,
                action_type=ActionType.GOTO_URL,
                params=params,
                error="goto needs a url.",
            )
        return Planned(
            call_id=call_id,
            name=name,
            action_type=ActionType.GOTO_URL,
            params=params,
            browser_tool="navigate",
            browser_params={"url": url},
        )
    return Planned(
        call_id=call_id, name=name, action_type=ActionType.GO_BACK, params=params, browser_tool="back"
    )


def pixel(
    call_id: str, name: str, kind: ActionType, params: dict[str, Any], action: PixelAction | None
) -> Planned:
    return Planned(
        call_id=call_id,
        name=name,
        action_type=kind,
        params=params,
        action=action,
        secret=isinstance(action, PixelType) and "{{secret:" in action.text,
    )


def failed(call_id: str, name: str, kind: ActionType, params: dict[str, Any], why: str) -> Planned:
    return Planned(call_id=call_id, name=name, action_type=kind, params=params, error=why)


def in_display(x: float, y: float, width: int, height: int) -> str | None:
    """Why a point is outside the display (None when inside)."""
    if 0 <= x < width and 0 <= y < height:
        return None
    return f"({x:g}, {y:g}) is outside the {width}x{height} display."
