"""A browser checkpoint: what survives between two Lambda slices of one run."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict, Field


class TabState(BaseModel):
    model_config = ConfigDict(frozen=True)

    url: str
    title: str = ""
    # The tab's session storage, for the origin it showed (session storage is per tab and per
    # origin, and Playwright's storage state leaves it out).
    session_origin: str = ""
    session_storage: dict[str, str] = Field(default_factory=dict, repr=False)


class BrowserState(BaseModel):
    """Cookies, local storage and IndexedDB (Playwright's storage state), the open tabs with
    their session storage, and the active tab.

    In-memory page state (scripts' variables, unsubmitted form fields) is not kept: a restored
    tab is loaded again from its URL. The storage state holds session cookies, so treat a
    checkpoint like a secret.
    """

    model_config = ConfigDict(frozen=True)

    storage_state: dict[str, Any] = Field(default_factory=dict, repr=False)
    tabs: tuple[TabState, ...] = ()
    active_tab: int = 0
