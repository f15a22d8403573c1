"""The actions an agent can take, as typed models (a union discriminated on `type`).

Each model's JSON schema is what a tool definition needs: `action_schema(name)` gives the
input schema of one action without its `type` field, and `parse_action` validates a dict.
Elements are named by the ids of the latest snapshot (``e12``).
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, TypeAdapter, model_validator

ElementId = Annotated[
    str, Field(pattern=r"^e\d+$", description="The element's id from the page snapshot, e.g. e12.")
]


class _Action(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Click(_Action):
    """Click an element."""

    type: Literal["click"] = "click"
    element: ElementId
    button: Literal["left", "right", "middle"] = "left"
    double: bool = Field(default=False, description="Double-click instead of a single click.")


class TypeText(_Action):
    """Type text into a text field (the field's current text is replaced unless clear=false)."""

    type: Literal["type"] = "type"
    element: ElementId
    text: str = Field(max_length=20_000)
    clear: bool = Field(default=True, description="Replace the current text (false appends).")
    submit: bool = Field(default=False, description="Press Enter after typing.")


class Select(_Action):
    """Choose an option of a dropdown or listbox (native or custom), matched by its text or value."""

    type: Literal["select"] = "select"
    element: ElementId
    option: str = Field(
        min_length=1, description="The option's visible text (or value); close matches count."
    )


class Check(_Action):
    """Set a checkbox, radio button or switch to checked (or unchecked)."""

    type: Literal["check"] = "check"
    element: ElementId
    checked: bool = True


class Hover(_Action):
    """Move the mouse over an element (opens hover menus and tooltips)."""

    type: Literal["hover"] = "hover"
    element: ElementId


class Press(_Action):
    """Press keys, e.g. Enter, Escape, Tab, ArrowDown, Control+A; optionally focus an element first."""

    type: Literal["press"] = "press"
    keys: str = Field(min_length=1, max_length=64)
    element: ElementId | None = None
    repeat: int = Field(default=1, ge=1, le=50)


class Scroll(_Action):
    """Scroll the page (or a scrollable element) by a number of screens."""

    type: Literal["scroll"] = "scroll"
    direction: Literal["down", "up", "right", "left"] = "down"
    amount: float = Field(default=1.0, gt=0, le=50, description="How many screens (viewport sizes).")
    element: ElementId | None = Field(default=None, description="Scroll inside this element instead.")


class Navigate(_Action):
    """Open a URL (http or https) in the current tab."""

    type: Literal["navigate"] = "navigate"
    url: str = Field(min_length=1, max_length=8_000)


class Back(_Action):
    """Go back one page in the current tab's history."""

    type: Literal["back"] = "back"


class Forward(_Action):
    """Go forward one page in the current tab's history."""

    type: Literal["forward"] = "forward"


class SwitchTab(_Action):
    """Make another open tab the current one."""

    type: Literal["switch_tab"] = "switch_tab"
    tab: str = Field(pattern=r"^t\d+$", description="The tab's id, e.g. t2.")


class CloseTab(_Action):
    """Close a tab (the current one when none is given)."""

    type: Literal["close_tab"] = "close_tab"
    tab: str | None = Field(default=None, pattern=r"^t\d+$")


class Upload(_Action):
    """Attach files to a file input (or to the upload button that opens a file chooser)."""

    type: Literal["upload"] = "upload"
    element: ElementId
    files: list[str] = Field(min_length=1, description="Paths of files on the machine running the browser.")


class Wait(_Action):
    """Wait until text appears, an element appears or goes, or the network is quiet."""

    type: Literal["wait"] = "wait"
    text: str | None = Field(default=None, description="Wait until this text is visible on the page.")
    element: ElementId | None = None
    state: Literal["visible", "hidden"] = "visible"
    network_quiet: bool = False
    timeout_ms: int = Field(default=5_000, ge=0, le=60_000)

    @model_validator(mode="after")
    def _one_condition(self) -> Wait:
        given = sum([self.text is not None, self.element is not None, self.network_quiet])
        if given != 1:
            raise ValueError("wait needs exactly one of text, element or network_quiet")
        return self


Action = Annotated[
    Click
    | TypeText
    | Select
    | Check
    | Hover
    | Press
    | Scroll
    | Navigate
    | Back
    | Forward
    | SwitchTab
    | CloseTab
    | Upload
    | Wait,
    Field(discriminator="type"),
]
ACTION_TYPES: dict[str, type[_Action]] = {
    cls.model_fields["type"].default: cls
    for cls in (
        Click,
        TypeText,
        Select,
        Check,
        Hover,
        Press,
        Scroll,
        Navigate,
        Back,
        Forward,
        SwitchTab,
        CloseTab,
        Upload,
        Wait,
    )
}
_ADAPTER: TypeAdapter[Action] = TypeAdapter(Action)


def parse_action(data: dict[str, Any] | _Action) -> Action:
    """Validate an action given as a dict (``{"type": "click", "element": "e12"}``)."""
    if isinstance(data, _Action):
        return _ADAPTER.validate_python(data.model_dump())
    return _ADAPTER.validate_python(data)


def action_schema(action_type: str) -> dict[str, Any]:
    """JSON schema of one action's inputs (without `type`), for an LLM tool definition."""
    schema = ACTION_TYPES[action_type].model_json_schema()
    schema["properties"] = {k: v for k, v in schema["properties"].items() if k != "type"}
    schema["required"] = [k for k in schema.get("required", []) if k != "type"]
    schema["additionalProperties"] = False
    return schema
