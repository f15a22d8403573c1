"""The sub-goal checklist of skyvern-2.0: planner-level memory kept by the model through a tool."""

from __future__ import annotations

from enum import StrEnum
from typing import Any

from pydantic import BaseModel, ConfigDict


class SubgoalStatus(StrEnum):
    PENDING = "pending"
    IN_PROGRESS = "in_progress"
    DONE = "done"
    BLOCKED = "blocked"


class Subgoal(BaseModel):
    model_config = ConfigDict(frozen=True)
    subgoal: str
    status: SubgoalStatus = SubgoalStatus.PENDING
    evidence: str | None = None


MARKS = {
    SubgoalStatus.PENDING: "[ ]",
    SubgoalStatus.IN_PROGRESS: "[~]",
    SubgoalStatus.DONE: "[x]",
    SubgoalStatus.BLOCKED: "[!]",
}

UPDATE_CHECKLIST_TOOL: dict[str, Any] = {
    "name": "update_checklist",
    "description": (
        "Write the full sub-goal checklist for the user's goal (replaces the previous one). Call it "
        "first to plan, and again whenever a sub-goal is done, blocked, or the plan changes. Mark a "
        "sub-goal done only with evidence seen on the page."
    ),
    "input_schema": {
        "type": "object",
        "properties": {
            "thought": {"type": "string", "description": "What you learned and why the plan is this."},
            "items": {
                "type": "array",
                "minItems": 1,
                "maxItems": 20,
                "items": {
                    "type": "object",
                    "properties": {
                        "subgoal": {"type": "string", "minLength": 1},
                        "status": {"type": "string", "enum": [s.value for s in SubgoalStatus]},
                        "evidence": {"type": "string"},
                    },
                    "required": ["subgoal", "status"],
                    "additionalProperties": False,
                },
            },
        },
        "required": ["items"],
        "additionalProperties": False,
    },
}


def parse_items(params: dict[str, Any]) -> list[Subgoal]:
    return [Subgoal.model_validate(item) for item in params["items"]]


def render(items: list[Subgoal]) -> str:
    if not items:
        return "(no checklist yet)"
    lines = []
    for item in items:
        line = f"{MARKS[item.status]} {item.subgoal}"
        if item.evidence:
            line += f" — {item.evidence}"
        lines.append(line)
    return "\n".join(lines)


def open_items(items: list[Subgoal]) -> list[Subgoal]:
    return [i for i in items if i.status is not SubgoalStatus.DONE]
