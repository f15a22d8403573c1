"""What every action handler shares: its outcome, its failure, and the session parts it uses."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from altostratus.adapters.browser.effects import ActionError

if TYPE_CHECKING:
    from altostratus.adapters.browser.config import SessionConfig
    from altostratus.adapters.browser.downloads import DownloadTracker
    from altostratus.adapters.browser.guard import NetworkGuard
    from altostratus.adapters.browser.isolated import IsolatedWorlds
    from altostratus.adapters.browser.perception.snapshot import Perceiver
    from altostratus.adapters.browser.settle import Mark, Settler
    from altostratus.adapters.browser.tabs import Tab, TabManager


@dataclass
class ActionOutcome:
    """What a handler reports itself; the observer adds what the page shows changed."""

    ok: bool = True
    error: ActionError | None = None
    detail: str | None = None
    method: str | None = None
    notes: list[str] = field(default_factory=list)
    value: str | None = None
    value_matches: bool | None = None
    checked: bool | None = None
    scrolled_by: float = 0.0
    # The element acted on, when it differs from the one asked for (re-resolved).
    element: str | None = None
    # Tab made active by the action (switch_tab, a new tab followed).
    switched_to: str | None = None


class ActionFailed(Exception):  # noqa: N818 - raised to carry an outcome, not an error of ours
    """Raised inside a handler to stop with a failed outcome."""

    def __init__(self, error: ActionError, detail: str, *, notes: list[str] | None = None) -> None:
        super().__init__(detail)
        self.outcome = ActionOutcome(ok=False, error=error, detail=detail, notes=notes or [])


@dataclass
class ActContext:
    """The parts of a session the handlers use."""

    config: SessionConfig
    tabs: TabManager
    perceiver: Perceiver
    worlds: IsolatedWorlds
    guard: NetworkGuard
    downloads: DownloadTracker
    settler: Settler

    @property
    def tab(self) -> Tab:
        tab = self.tabs.active
        if tab is None:
            raise ActionFailed(ActionError.TAB_NOT_FOUND, "no tab is open")
        return tab

    async def mark(self, tab: Tab) -> Mark:
        """What settling after the next action compares against (see `Settler.mark`)."""
        await self.tabs.ready(tab)
        return await self.settler.mark(self.worlds, tab.targets.main, tab.network)

    async def settle(self, tab: Tab, mark: Mark | None, *, cap_ms: int | None = None) -> None:
        """Wait for what the action since `mark` set off, capped by the session's settle cap."""
        await self.tabs.ready(tab)
        if tab.targets.main is None:
            return
        cap = self.config.settle_cap_ms if cap_ms is None else min(cap_ms, self.config.settle_cap_ms)
        await self.settler.settle(
            tab.page,
            tab.targets.main,
            tab.network,
            self.worlds,
            mark,
            cap_ms=cap,
            quiet_ms=self.config.settle_quiet_ms,
        )
