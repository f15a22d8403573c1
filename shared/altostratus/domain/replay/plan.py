"""The replay plan: the only executable form of a compiled run (JSON, versioned, with a JSON
Schema checked in next to this module). A fixed interpreter runs it; nothing in it is code.

A step's value is a literal, a reference to a workflow parameter (`{"parameter": name}`) or to
a secret placeholder (`{"secret": name}`): secret values are never in a plan.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict

from altostratus.domain.replay.targets import SelectorBundle

PLAN_VERSION: Literal[1] = 1
SCHEMA_PATH = Path(__file__).with_name("plan.schema.json")

StepKind = Literal[
    "navigate", "click", "hover", "fill", "select", "check", "press", "scroll", "wait", "totp-code"
]
ParameterType = Literal["string", "secret"]
FieldType = Literal["string", "number", "integer", "boolean"]


class _Model(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class ParameterRef(_Model):
    parameter: str


class SecretRef(_Model):
    """A run secret by name: `{{secret:NAME}}` in the run's request."""

    secret: str


Value = str | ParameterRef | SecretRef


class ExpectedEffect(_Model):
    """What the step did when it was recorded, checked when it is replayed.

    `url` is the address the step led to (compared without its query and fragment, which a GET
    form fills with the values typed); `value_matches` that the field must read back what was
    typed; `checked` a checkbox's state afterwards; `download` a file that must arrive."""

    url: str | None = None
    value_matches: bool | None = None
    checked: bool | None = None
    download: str | None = None


class PlanStep(_Model):
    kind: StepKind
    description: str
    target: SelectorBundle | None = None
    # navigate: the URL; fill/select: the text or option; press: the keys; wait: the text.
    value: Value | None = None
    # fill: press Enter afterwards; check: the state to set.
    submit: bool = False
    checked: bool | None = None
    # scroll
    direction: Literal["down", "up", "right", "left"] | None = None
    amount: float | None = None
    # totp-code: one box per character after `target`.
    more_targets: tuple[SelectorBundle, ...] = ()
    expect: ExpectedEffect = ExpectedEffect()


class PlanParameter(_Model):
    """A workflow parameter: `default` is the value the recorded run used (for a secret, its
    placeholder; the value itself is never stored)."""

    name: str
    type: ParameterType = "string"
    default: str | None = None
    description: str | None = None


class ExtractField(_Model):
    """One leaf of the output: read the target's text, take `pattern`'s first group (the whole
    text when None), convert to `type` and put it at `path` of the output."""

    path: tuple[str | int, ...] = ()
    target: SelectorBundle
    pattern: str | None = None
    type: FieldType = "string"


class Extraction(_Model):
    # The run's `data_extraction_schema` (a JSON Schema, or a plain-language description).
    data_schema: dict[str, Any] | list[Any] | str | None = None
    fields: tuple[ExtractField, ...] = ()


class ReplayPlan(_Model):
    plan_version: Literal[1] = PLAN_VERSION
    source_run_id: str | None = None
    goal: str | None = None
    start_url: str | None = None
    steps: tuple[PlanStep, ...] = ()
    parameters: tuple[PlanParameter, ...] = ()
    extraction: Extraction | None = None
    # The recorded run's output, for reference (what the plan's extraction reproduced).
    recorded_output: Any = None

    def to_json(self) -> str:
        """The plan as stored: stable key order, so the same plan is the same bytes."""
        return json.dumps(self.model_dump(mode="json"), indent=2, ensure_ascii=False) + "\n"

    @classmethod
    def from_json(cls, text: str | bytes) -> ReplayPlan:
        return cls.model_validate_json(text)

    def parameter(self, name: str) -> PlanParameter | None:
        return next((p for p in self.parameters if p.name == name), None)


def plan_json_schema() -> dict[str, Any]:
    """The plan's JSON Schema (what `plan.schema.json` holds)."""
    schema = ReplayPlan.model_json_schema(mode="validation")
    return {
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        "$id": "https://altostratus.dev/schemas/replay-plan.json",
        **schema,
    }


def render_schema() -> str:
    return json.dumps(plan_json_schema(), indent=2, ensure_ascii=False) + "\n"


if __name__ == "__main__":  # pragma: no cover - a developer tool
    SCHEMA_PATH.write_text(render_schema())
    print(SCHEMA_PATH)
