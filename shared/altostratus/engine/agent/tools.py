"""The model's tools: the browser's actions plus extract, screenshot, find, done, terminate
(and update_checklist for skyvern-2.0), with input validation before anything runs."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import jsonschema

from altostratus.domain.enums import ActionType
from altostratus.engine.agent import verification as vc
from altostratus.engine.agent.checklist import UPDATE_CHECKLIST_TOOL

EXTRACT, SCREENSHOT, FIND, DONE, TERMINATE, UPDATE_CHECKLIST = (
    "extract",
    "screenshot",
    "find",
    "done",
    "terminate",
    "update_checklist",
)

EXTRACT_TOOL: dict[str, Any] = {
    "name": EXTRACT,
    "description": (
        "Read information from the current page with a separate extraction pass over its full "
        "text (including parts outside the viewport). Returns JSON."
    ),
    "input_schema": {
        "type": "object",
        "properties": {"instruction": {"type": "string", "description": "What to extract."}},
        "required": ["instruction"],
        "additionalProperties": False,
    },
}

SCREENSHOT_TOOL: dict[str, Any] = {
    "name": SCREENSHOT,
    "description": "See a screenshot of the current viewport (when the text snapshot is not enough).",
    "input_schema": {"type": "object", "properties": {}, "additionalProperties": False},
}

FIND_TOOL: dict[str, Any] = {
    "name": FIND,
    "description": "Search the whole page's text (not only the viewport) for a word or phrase.",
    "input_schema": {
        "type": "object",
        "properties": {"text": {"type": "string", "minLength": 1}},
        "required": ["text"],
        "additionalProperties": False,
    },
}

DONE_TOOL: dict[str, Any] = {
    "name": DONE,
    "description": (
        "Declare the user's goal achieved. Call it alone, only after the page shows the goal is "
        "met. A verifier checks the page; if something is missing you are told what."
    ),
    "input_schema": {
        "type": "object",
        "properties": {
            "summary": {"type": "string", "description": "What was achieved, and the evidence on the page."},
            "answer": {"description": "The answer the user asked for, if the goal asks for information."},
        },
        "required": ["summary"],
        "additionalProperties": False,
    },
}


def terminate_tool(error_codes: dict[str, str | None]) -> dict[str, Any]:
    """`terminate`, whose error_code can only be one of the run's codes (an enum)."""
    properties: dict[str, Any] = {
        "reason": {
            "type": "string",
            "description": "Why the goal cannot be achieved, quoting what the page says.",
        }
    }
    description = (
        "Stop because the goal is impossible: only on explicit evidence on the page (quote it). "
        "Never for a captcha, a slow page or something not found yet."
    )
    if error_codes:
        properties["error_code"] = {
            "type": "string",
            "enum": sorted(error_codes),
            "description": "The user's error code that matches the situation.",
        }
        description += " Give the error_code that matches."
    return {
        "name": TERMINATE,
        "description": description,
        "input_schema": {
            "type": "object",
            "properties": properties,
            "required": ["reason"],
            "additionalProperties": False,
        },
    }


AGENT_ACTION_TYPES = {
    EXTRACT: ActionType.EXTRACT,
    SCREENSHOT: ActionType.NULL_ACTION,
    FIND: ActionType.NULL_ACTION,
    DONE: ActionType.COMPLETE,
    TERMINATE: ActionType.TERMINATE,
    UPDATE_CHECKLIST: ActionType.NULL_ACTION,
    vc.REQUEST_CODE: ActionType.VERIFICATION_CODE,
    vc.ENTER_CODE: ActionType.INPUT_TEXT,
}


@dataclass(frozen=True)
class InvalidCall:
    """Why a tool call cannot run; told to the model as an error tool_result."""

    message: str


@dataclass
class Toolset:
    """The tools of one run and their validators."""

    tools: list[dict[str, Any]]
    browser_tools: frozenset[str]
    _validators: dict[str, jsonschema.protocols.Validator] = field(default_factory=dict)

    def __post_init__(self) -> None:
        for tool in self.tools:
            cls = jsonschema.validators.validator_for(
                tool["input_schema"], default=jsonschema.Draft202012Validator
            )
            self._validators[tool["name"]] = cls(tool["input_schema"])

    @property
    def names(self) -> list[str]:
        return [t["name"] for t in self.tools]

    def check(self, name: str, params: Any) -> InvalidCall | None:
        """None when the call may run; otherwise what is wrong with it, in words for the model."""
        validator = self._validators.get(name)
        if validator is None:
            return InvalidCall(f"There is no tool named {name!r}. Use one of: {', '.join(self.names)}.")
        if not isinstance(params, dict):
            return InvalidCall(f"The input of {name} must be a JSON object.")
        errors = sorted(validator.iter_errors(params), key=lambda e: list(e.absolute_path))
        if errors:
            details = "; ".join(
                f"{'/'.join(str(p) for p in e.absolute_path) or '(input)'}: {e.message}" for e in errors[:5]
            )
            return InvalidCall(f"Invalid input for {name}: {details}. Fix the arguments and call it again.")
        return None


def build_toolset(
    browser_tools: list[dict[str, Any]],
    *,
    error_codes: dict[str, str | None],
    checklist: bool,
    verification_codes: bool = False,
) -> Toolset:
    """`verification_codes`: the run can obtain one-time codes (it has a totp_identifier)."""
    tools = [*browser_tools, EXTRACT_TOOL, FIND_TOOL, SCREENSHOT_TOOL]
    if verification_codes:
        tools += vc.TOOLS
    if checklist:
        tools.append(UPDATE_CHECKLIST_TOOL)
    tools += [DONE_TOOL, terminate_tool(error_codes)]
    return Toolset(tools=tools, browser_tools=frozenset(t["name"] for t in browser_tools))
