"""Effect reports: what an action did, as the agent and the timeline are told.

Every action returns one, success or not. "No visible effect" is reported when nothing the
page shows changed: same URL and title, no new tab, dialog or download, no element or text
change, no scroll, no value change — the most common silent failure of browser agents.
"""

from __future__ import annotations

from enum import StrEnum
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from altostratus.adapters.browser.perception.model import TabInfo


class ActionError(StrEnum):
    """Why an action could not be done (the agent reads these; the engine maps them to tools)."""

    INVALID_ACTION = "invalid_action"
    ELEMENT_NOT_FOUND = "element_not_found"  # the id is unknown or expired
    ELEMENT_GONE = "element_gone"  # the node was removed and nothing like it came back
    NOT_VISIBLE = "not_visible"
    DISABLED = "disabled"
    NOT_EDITABLE = "not_editable"
    INTERCEPTED = "intercepted"  # something covers the element and could not be moved
    OPTION_NOT_FOUND = "option_not_found"
    NOT_CHECKABLE = "not_checkable"
    NOT_A_FILE_INPUT = "not_a_file_input"
    FILE_NOT_FOUND = "file_not_found"
    NAVIGATION_REFUSED = "navigation_refused"  # the address policy refused the URL
    NAVIGATION_FAILED = "navigation_failed"
    NO_HISTORY = "no_history"
    TAB_NOT_FOUND = "tab_not_found"
    TIMEOUT = "timeout"
    VALUE_MISMATCH = "value_mismatch"  # typed, but the field reads back something else
    BROWSER_ERROR = "browser_error"  # the browser refused the command (message in the detail)


class DialogInfo(BaseModel):
    """A JavaScript dialog the page opened (accepted automatically)."""

    model_config = ConfigDict(frozen=True)

    type: str
    message: str


class DownloadInfo(BaseModel):
    """A download the page started, and once finished, where it was saved."""

    model_config = ConfigDict(frozen=True)

    id: str
    url: str
    filename: str
    state: Literal["started", "finished", "failed"]
    path: str | None = None
    size: int | None = None
    sha256: str | None = None
    error: str | None = None
    duplicate_of: str | None = None


class PageChange(BaseModel):
    """How much of the page changed: element lines added, removed or changed, and text."""

    model_config = ConfigDict(frozen=True)

    added: int = 0
    removed: int = 0
    changed: int = 0
    ratio: float = 0.0
    text_changed: bool = False
    # The first few new or changed element lines (a menu that opened, an error that appeared).
    lines: tuple[str, ...] = ()

    @property
    def any(self) -> bool:
        return bool(self.added or self.removed or self.changed or self.text_changed)


class EffectReport(BaseModel):
    """What one action did. `summary` is one or two sentences for the model and the timeline."""

    model_config = ConfigDict(frozen=True)

    action: str
    element: str | None = None
    ok: bool
    error: ActionError | None = None
    detail: str | None = None
    summary: str = ""
    url: str = ""
    title: str = ""
    url_changed: bool = False
    title_changed: bool = False
    new_document: bool = False
    new_tab: TabInfo | None = None
    active_tab: str = ""
    dialogs: tuple[DialogInfo, ...] = ()
    downloads: tuple[DownloadInfo, ...] = ()
    # Read back after typing or selecting (masked for passwords); None when not applicable.
    value: str | None = None
    value_matches: bool | None = None
    checked: bool | None = None
    change: PageChange = Field(default_factory=PageChange)
    scrolled_by: float = 0.0
    blocked_requests: tuple[str, ...] = ()
    # Which rung of the click ladder landed ("mouse", "mouse after closing …", "dom", ...).
    method: str | None = None
    notes: tuple[str, ...] = ()
    no_effect: bool = False
    ms: float = 0.0
    # Where the action started, and the element it acted on as a selector bundle (the domain's
    # `SelectorBundle` fields), for a replay to find it again.
    url_before: str = ""
    target: dict[str, Any] | None = None

    @property
    def page_changed(self) -> bool:
        """The page moved on: the rest of a batch of actions should not run blindly."""
        return self.url_changed or self.new_document or self.new_tab is not None or bool(self.dialogs)


def summarize(report: EffectReport) -> str:
    """One or two sentences: what happened, then what changed (or that nothing did)."""
    target = f" {report.element}" if report.element else ""
    if not report.ok:
        head = f"{report.action}{target} failed ({report.error}): {report.detail or 'no detail'}."
    else:
        head = f"{report.action}{target} done" + (f" ({report.method})" if report.method else "") + "."
    parts = [head, *report.notes]
    if report.value is not None:
        if report.action == "select":
            verdict = {True: " as asked", False: ", NOT what was asked", None: ""}[report.value_matches]
            parts.append(f"It now shows {report.value!r}{verdict}.")
        elif report.action == "upload":
            parts.append(f"The file input now holds {report.value!r}.")
        else:
            verdict = {True: " as typed", False: ", NOT as typed", None: ""}[report.value_matches]
            parts.append(f"The field now reads {report.value!r}{verdict}.")
    if report.checked is not None:
        parts.append("It is now checked." if report.checked else "It is now unchecked.")
    if report.url_changed:
        parts.append(f"Now at {report.url} ({report.title!r}).")
    elif report.new_document:
        parts.append("The page reloaded.")
    elif report.title_changed:
        parts.append(f"The title is now {report.title!r}.")
    if report.new_tab is not None:
        parts.append(f"A new tab {report.new_tab.id} opened: {report.new_tab.url}.")
    for dialog in report.dialogs:
        parts.append(f"A {dialog.type} dialog said {dialog.message!r} (accepted).")
    for download in report.downloads:
        if download.state == "finished":
            parts.append(f"Downloaded {download.filename} ({download.size} bytes).")
        elif download.state == "failed":
            parts.append(f"The download of {download.filename} failed: {download.error}.")
        else:
            parts.append(f"A download of {download.filename} started.")
    for reason in report.blocked_requests[:3]:
        parts.append(f"Blocked a request: {reason}.")
    change = report.change
    if change.any and not report.url_changed:
        bits = []
        if change.added:
            bits.append(f"{change.added} new")
        if change.changed:
            bits.append(f"{change.changed} changed")
        if change.removed:
            bits.append(f"{change.removed} gone")
        text = f"Elements: {', '.join(bits)} ({round(change.ratio * 100)}% of the page)." if bits else ""
        if change.text_changed and not bits:
            text = "The page text changed."
        parts.append(text)
    if report.scrolled_by:
        parts.append(f"Scrolled by {round(report.scrolled_by)}px.")
    if report.ok and report.no_effect:
        parts.append("No visible effect: the page did not change.")
    return " ".join(p for p in parts if p)
