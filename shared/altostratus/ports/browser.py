"""What the agent needs from a browser, and how a run gets one.

The agent observes, acts through tools and reads pages only through `AgentBrowser`; the
adapter over the browser layer's session implements it, and unit tests use small fakes, so the
loop depends on these few promises, not on the browser layer's internals. `BrowserProvider`
opens one for a slice of a run (a local Chromium, a remote browser), restoring the state the
previous slice exported.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from contextlib import AbstractAsyncContextManager
from typing import Any, Protocol

from pydantic import BaseModel, ConfigDict, Field

from altostratus.domain.replay.targets import ObservedEffect, SelectorBundle
from altostratus.domain.run_request import RunTaskRequest
from altostratus.domain.view import RunView


class Observation(BaseModel):
    """The page as the model is shown it.

    `text` is the line-format snapshot (element ids, roles, names, values), either the whole
    page (`is_diff=False`) or what changed since the previous observation of the same document.
    `fingerprint` identifies the page's state (URL + content), so the loop can tell "nothing
    changed" apart from "something changed" whatever form `text` took.
    """

    model_config = ConfigDict(frozen=True)

    url: str
    title: str = ""
    text: str
    is_diff: bool = False
    fingerprint: str
    element_count: int = 0
    tabs: tuple[str, ...] = ()
    # Full text of the same snapshot, for artifacts and the verifier; equals `text` when not a diff.
    full_text: str = ""

    def redacted(self, redact: Callable[[str], str]) -> Observation:
        """The observation with `redact` applied to everything a page controls (a secret typed
        into a field can come back in a value, and a GET form puts it in the URL)."""
        return self.model_copy(
            update={
                "url": redact(self.url),
                "title": redact(self.title),
                "text": redact(self.text),
                "full_text": redact(self.full_text),
                "tabs": tuple(redact(t) for t in self.tabs),
            }
        )


# `Effect.error` of a navigation the address policy refused.
NAVIGATION_REFUSED = "navigation_refused"


class Effect(BaseModel):
    """What one executed action did, as the model and the timeline are told."""

    model_config = ConfigDict(frozen=True)

    ok: bool
    summary: str
    # The page moved on (new URL or document, new tab, dialog): the rest of a batch is skipped.
    page_changed: bool = False
    # The action ran but nothing the page shows changed (the most common silent failure).
    no_effect: bool = False
    error: str | None = None
    details: dict[str, Any] = Field(default_factory=dict)
    # The element the action acted on, as ways to find it again, and what it was seen to do
    # (what a compiled replay needs).
    target: SelectorBundle | None = None
    observed: ObservedEffect | None = None


class Located(BaseModel):
    """The one visible, enabled element a selector bundle names now, or why there is none.

    `element_id` is usable with `execute` until the next observation; `matched_by` names the
    bundle entry that found it (``test_id``, ``role+name``, ``label``, ...)."""

    model_config = ConfigDict(frozen=True)

    element_id: str | None = None
    matched_by: str | None = None
    reason: str | None = None


class TargetText(BaseModel):
    """The text (and form value) of the element a selector bundle names, for extraction."""

    model_config = ConfigDict(frozen=True)

    text: str | None = None
    value: str | None = None
    matched_by: str | None = None
    reason: str | None = None


class FoundText(BaseModel):
    """The smallest element whose text holds a value, and that element's whole text."""

    model_config = ConfigDict(frozen=True)

    target: SelectorBundle
    text: str


class Download(BaseModel):
    """A file the page downloaded, finished and saved on the browser's machine."""

    model_config = ConfigDict(frozen=True)

    filename: str
    path: str
    size: int
    sha256: str


class AgentBrowser(Protocol):
    def action_tools(self) -> list[dict[str, Any]]:
        """Anthropic tool definitions (name, description, input_schema) for every browser action."""
        ...

    def action_type_of(self, tool: str) -> str:
        """The Skyvern action type (click, input_text, ...) a tool is reported as."""
        ...

    async def open(self, url: str) -> Effect:
        """Load the run's start page."""
        ...

    async def observe(self, *, full: bool, whole_page: bool = False) -> Observation:
        """Snapshot the page. `full=True`: the whole snapshot, never a diff; `whole_page=True`:
        every element of the page in detail, not only the viewport and an outline."""
        ...

    async def execute(self, tool: str, params: dict[str, Any]) -> Effect:
        """Run one action tool with validated params (secrets already resolved)."""
        ...

    async def screenshot(self, *, scrolls: int = 0) -> bytes:
        """A PNG of the viewport (or of `scrolls` extra screens below it)."""
        ...

    async def markdown(self) -> str:
        """The main content of the current page as markdown, for extraction and `find`."""
        ...

    async def html(self) -> str:
        """The current page's HTML, for the `html_scrape` artifact."""
        ...

    async def new_downloads(self) -> list[Download]:
        """Downloads finished since the last call (each reported once), oldest first."""
        ...

    async def locate(self, target: SelectorBundle) -> Located:
        """The element of the current page `target` names: the first bundle entry that matches
        exactly one visible, enabled element (the CSS path only separates several candidates of
        an entry, or stands alone when the element had nothing else to go by)."""
        ...

    async def read_target(self, target: SelectorBundle) -> TargetText:
        """The text of the element `target` names (any element, not only operable ones)."""
        ...

    async def find_text(self, values: Sequence[str]) -> list[FoundText | None]:
        """For each value, the smallest visible element of the current page whose text holds it."""
        ...


class OpenBrowser(Protocol):
    """A browser opened for one slice."""

    @property
    def agent(self) -> AgentBrowser: ...

    async def export_state(self) -> dict[str, Any]:
        """Cookies, storage, open tabs and URLs, to restore in the next slice."""
        ...


class BrowserProvider(Protocol):
    def open(
        self, view: RunView, request: RunTaskRequest, restore: dict[str, Any] | None
    ) -> AbstractAsyncContextManager[OpenBrowser]:
        """Launch (or connect to the request's `browser_address`) with the request's browser
        settings (headers, proxy), and restore `restore` if given.
        Raises an error whose type says the browser is gone (crash, disconnect) when it is."""
        ...

    async def close(self) -> None:
        """Release what the provider keeps for the running event loop (a stopping worker)."""
        ...
