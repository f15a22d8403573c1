"""A browser checkpoint: what survives between two Lambda slices of one run."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict, Field


class TabState(BaseModel):
    model_config = ConfigDict(frozen=True)

    url: str
    title: str = ""


class BrowserState(BaseModel):
    """Cookies and local storage (Playwright's storage state), the open tabs and the active one.

    Session storage and in-memory page state are not kept: a restored tab is reloaded from
    its URL. The storage state holds session cookies, so treat a checkpoint like a secret.
    """

    model_config = ConfigDict(frozen=True)

    storage_state: dict[str, Any] = Field(default_factory=dict, repr=False)
    tabs: tuple[TabState, ...] = ()
    active_tab: int = 0
