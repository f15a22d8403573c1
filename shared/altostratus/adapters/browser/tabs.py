"""Tabs of a session: ids (``t1``, ``t2`` …), the active one, dialogs and crashes per tab.

Every page the context opens (a link with target=_blank, window.open) becomes a tab with its
own CDP targets and network monitor. JavaScript dialogs are accepted at once (a pending alert
blocks the page) and their text is kept for the next effect report.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import logging
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from playwright.async_api import Error as PlaywrightError

from altostratus.adapters.browser.effects import DialogInfo
from altostratus.adapters.browser.perception.capture import PageTargets
from altostratus.adapters.browser.perception.model import TabInfo
from altostratus.adapters.browser.settle import NetworkMonitor

if TYPE_CHECKING:
    from playwright.async_api import BrowserContext, Dialog, Page

    from altostratus.adapters.browser.downloads import DownloadTracker

log = logging.getLogger(__name__)


@dataclass
class Tab:
    id: str
    page: Page
    targets: PageTargets
    network: NetworkMonitor
    crashed: bool = False
    closed: bool = False
    title: str = ""
    # Set when the renderer crashes: CDP calls to a crashed target never answer, so waits race it.
    crash: asyncio.Event = field(default_factory=asyncio.Event)

    def info(self, *, active: bool) -> TabInfo:
        url = "" if self.closed else self.page.url
        return TabInfo(id=self.id, url=url, title=self.title, active=active)


@dataclass
class TabManager:
    """The tabs of one browser context, in the order they opened."""

    context: BrowserContext
    downloads: DownloadTracker
    tabs: dict[str, Tab] = field(default_factory=dict)
    active_id: str = ""
    dialogs: list[DialogInfo] = field(default_factory=list)
    opened: list[str] = field(default_factory=list)
    _ids: itertools.count[int] = field(default_factory=lambda: itertools.count(1))
    _ready: dict[str, asyncio.Task[None]] = field(default_factory=dict)
    _pending: set[asyncio.Task[None]] = field(default_factory=set)
    # Set whenever a tab opens, for whoever waits for a late popup.
    _opened_event: asyncio.Event = field(default_factory=asyncio.Event)

    def start(self) -> None:
        self.context.on("page", self._on_page)

    def _on_page(self, page: Page) -> None:
        self.add(page)

    def add(self, page: Page) -> Tab:
        for tab in self.tabs.values():
            if tab.page is page:
                return tab
        tab_id = f"t{next(self._ids)}"
        tab = Tab(tab_id, page, PageTargets(self.context, page, prefix=tab_id), NetworkMonitor(page))
        self.tabs[tab_id] = tab
        self.opened.append(tab_id)
        self._opened_event.set()
        if not self.active_id:
            self.active_id = tab_id
        page.on("dialog", self._on_dialog)
        page.on("crash", lambda _page: self._on_crash(tab))
        page.on("close", lambda _page: self._on_close(tab))
        self.downloads.watch(page)
        self._ready[tab_id] = asyncio.ensure_future(self._prepare(tab))
        return tab

    async def _prepare(self, tab: Tab) -> None:
        with contextlib.suppress(PlaywrightError):
            await tab.targets.start()

    async def ready(self, tab: Tab) -> None:
        task = self._ready.get(tab.id)
        if task is not None:
            await task
        await tab.targets.start()

    def _on_dialog(self, dialog: Dialog) -> None:
        self.dialogs.append(DialogInfo(type=dialog.type, message=dialog.message[:500]))
        task = asyncio.ensure_future(self._accept(dialog))
        self._pending.add(task)
        task.add_done_callback(self._pending.discard)

    async def _accept(self, dialog: Dialog) -> None:
        with contextlib.suppress(PlaywrightError):
            await dialog.accept()

    def _on_crash(self, tab: Tab) -> None:
        tab.crashed = True
        tab.crash.set()
        log.warning("tab %s crashed (%s)", tab.id, tab.page.url)

    def _on_close(self, tab: Tab) -> None:
        tab.closed = True
        if self.active_id == tab.id:
            remaining = [t for t in self.tabs.values() if not t.closed]
            self.active_id = remaining[-1].id if remaining else ""

    @property
    def active(self) -> Tab | None:
        tab = self.tabs.get(self.active_id)
        return tab if tab is not None and not tab.closed else None

    def open_tabs(self) -> list[Tab]:
        return [t for t in self.tabs.values() if not t.closed]

    async def wait_for_new_tab(self, known: set[str], timeout_s: float) -> bool:
        """True once a tab not in `known` is open; False after `timeout_s`."""
        deadline = asyncio.get_running_loop().time() + timeout_s
        while True:
            self._opened_event.clear()
            if any(t.id not in known for t in self.open_tabs()):
                return True
            remaining = deadline - asyncio.get_running_loop().time()
            if remaining <= 0:
                return False
            try:
                await asyncio.wait_for(self._opened_event.wait(), remaining)
            except TimeoutError:
                return False

    def infos(self) -> list[TabInfo]:
        return [t.info(active=t.id == self.active_id) for t in self.open_tabs()]

    async def refresh_titles(self, known: dict[str, str] | None = None) -> None:
        """Read the open tabs' titles (concurrently); `known` has titles just read from a
        tab's document some other way, by tab id, which need no second read."""
        known = known or {}

        async def read(tab: Tab) -> None:
            if tab.id in known:
                tab.title = known[tab.id]
                return
            with contextlib.suppress(PlaywrightError):
                tab.title = await tab.page.title()

        await asyncio.gather(*(read(tab) for tab in self.open_tabs()))

    def get(self, tab_id: str) -> Tab | None:
        tab = self.tabs.get(tab_id)
        return tab if tab is not None and not tab.closed else None
