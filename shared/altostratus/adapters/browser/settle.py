"""Settling after an action, driven by what the action set off.

Before an action, `Settler.mark` installs a MutationObserver in our isolated world of the tab's
main document and notes the tab's request and navigation counters. After it, `Settler.settle`
waits only for what the action actually started:

- a navigation (a main-frame document request, or a commit): its new document's `load` event;
- requests (long-polling, websockets and event streams excluded): until they are done, then
  the DOM again, since a response is usually rendered;
- DOM changes: only the subtree the action changed counts (a ticking clock elsewhere on the
  page does not hold the action up). Changes made while the action ran are done once two
  frames pass without more (one on a document just loaded); changes still arriving after it
  (a widget rendering asynchronously) have to stop for the quiet window first.

An action that set nothing off costs two animation frames. Everything is bounded by one cap.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import time
from dataclasses import dataclass
from typing import TYPE_CHECKING

from playwright.async_api import Error as PlaywrightError

from altostratus.adapters.browser.isolated import IsolatedWorlds, ScriptError
from altostratus.adapters.browser.scripts import DOM_SETTLE

if TYPE_CHECKING:
    from playwright.async_api import Frame, Page, Request

    from altostratus.adapters.browser.perception.capture import Target

# Requests that stay open by design never make the network quiet.
_ENDLESS = frozenset({"websocket", "eventsource", "media"})
# A request open longer than this is treated as long-polling and ignored.
_LONG_POLL_S = 2.5
# How often requests chained off each other (a response that fetches more) are followed.
_ROUNDS = 5
# After a document request ended without a commit (a download, a 204), how long its commit
# may still take to be announced.
_COMMIT_GRACE_S = 0.05


@dataclass(frozen=True)
class Mark:
    """The tab's counters, and the id of the DOM watch, when an action started."""

    requests: int
    documents: int
    navigations: int
    watch: str = ""


# Before the tab's first request: settling from here waits for the tab's whole load.
FROM_THE_START = Mark(requests=0, documents=0, navigations=0)


class NetworkMonitor:
    """Requests in flight for one page, with an event on every change."""

    def __init__(self, page: Page) -> None:
        # request -> (when it started, its number)
        self._inflight: dict[Request, tuple[float, int]] = {}
        self._documents: set[Request] = set()
        self.changed = asyncio.Event()
        self.requests = 0  # requests started so far
        self.documents = 0  # main-frame document requests started so far
        self.navigations = 0  # main-frame commits (and same-document navigations) so far
        page.on("request", self._started)
        page.on("requestfinished", self._ended)
        page.on("requestfailed", self._ended)
        page.on("framenavigated", self._navigated)
        self._page = page

    def mark(self, watch: str = "") -> Mark:
        return Mark(self.requests, self.documents, self.navigations, watch)

    def _started(self, request: Request) -> None:
        if request.resource_type in _ENDLESS:
            return
        self.requests += 1
        self._inflight[request] = (time.monotonic(), self.requests)
        if request.is_navigation_request() and self._is_main(request.frame):
            self.documents += 1
            self._documents.add(request)
        self.changed.set()

    def _is_main(self, frame: Frame) -> bool:
        return frame is self._page.main_frame

    def _ended(self, request: Request) -> None:
        self._documents.discard(request)
        if self._inflight.pop(request, None) is not None:
            self.changed.set()

    def _navigated(self, frame: Frame) -> None:
        if self._is_main(frame):
            self.navigations += 1
            self.changed.set()

    def busy(self, since: int = 0) -> int:
        """Requests in flight that started after request number `since` (long polls aside)."""
        now = time.monotonic()
        alive = [number for started, number in self._inflight.values() if now - started < _LONG_POLL_S]
        return sum(1 for number in alive if number > since)

    def navigating(self, mark: Mark) -> bool:
        """A main-frame navigation started (or committed) since `mark`."""
        return self.documents > mark.documents or self.navigations > mark.navigations

    async def _changed(self, deadline: float) -> bool:
        """Wait for the next change (or at most 0.25 s, for long polls to age out)."""
        remaining = deadline - asyncio.get_running_loop().time()
        if remaining <= 0:
            return False
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self.changed.wait(), min(0.25, remaining))
        return True

    async def wait_idle(self, since: int, deadline: float) -> bool:
        """True once every request started after number `since` is done; False at the deadline."""
        while True:
            self.changed.clear()
            if not self.busy(since):
                return True
            if not await self._changed(deadline):
                return False

    async def wait_navigation(self, mark: Mark, deadline: float) -> bool:
        """True once a navigation started (or committed) after `mark`; False at the deadline."""
        while True:
            self.changed.clear()
            if self.navigating(mark):
                return True
            if not await self._changed(deadline):
                return False

    async def wait_commit(self, mark: Mark, deadline: float) -> bool:
        """True once the main frame committed a navigation after `mark`; False when its document
        request ended without one (a download, a 204, a refusal) or at the deadline."""
        grace: float | None = None
        loop = asyncio.get_running_loop()
        while True:
            self.changed.clear()
            if self.navigations > mark.navigations:
                return True
            if not self._documents:
                grace = grace if grace is not None else loop.time() + _COMMIT_GRACE_S
                if loop.time() >= grace:
                    return False
            if not await self._changed(min(deadline, grace) if grace is not None else deadline):
                return self.navigations > mark.navigations

    async def wait_quiet(self, quiet_s: float, deadline: float) -> bool:
        """True once nothing was in flight for `quiet_s`; False at the deadline (the `wait`
        action's network quiet: an explicit wait keeps its window)."""
        loop = asyncio.get_running_loop()
        while True:
            remaining = deadline - loop.time()
            if remaining <= 0:
                return False
            self.changed.clear()
            wait = min(quiet_s, remaining) if not self.busy() else min(0.25, remaining)
            try:
                await asyncio.wait_for(self.changed.wait(), wait)
            except TimeoutError:
                if not self.busy():
                    return True
            # Something started or ended (or a long poll aged out): look again.


class Settler:
    """Marks a tab before an action and waits, after it, for what the action set off."""

    def __init__(self) -> None:
        self._ids = itertools.count(1)

    async def mark(self, worlds: IsolatedWorlds, target: Target | None, monitor: NetworkMonitor) -> Mark:
        """Note the counters and watch the main document's mutations from now on."""
        mark = monitor.mark()
        if target is None:
            return mark
        watch = f"w{next(self._ids)}"
        try:
            await worlds.evaluate(target, target.frame_id, DOM_SETTLE, "watch", watch, 0, 0)
        except (PlaywrightError, ScriptError):
            return mark  # mid-navigation: what follows is a new document anyway
        return monitor.mark(watch)

    async def settle(
        self,
        page: Page,
        target: Target,
        monitor: NetworkMonitor,
        worlds: IsolatedWorlds,
        mark: Mark | None,
        *,
        cap_ms: int,
        quiet_ms: int,
    ) -> None:
        """Wait until what the action started (since `mark`) is done, or `cap_ms` passed."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + cap_ms / 1000
        mark = mark or monitor.mark()
        seen = mark
        watch = mark.watch
        frames = 2
        for _ in range(_ROUNDS):
            if monitor.navigating(seen):
                worlds.forget_target(target.key)
                await _follow_navigation(page, monitor, seen, deadline, worlds, target)
                seen = monitor.mark()
                # The new document after its load event: only what it does next counts (its
                # first frame starts what it renders lazily, the requests of what it observes).
                watch = ""
                frames = 1
            state = await _dom_or_navigation(
                worlds, target, monitor, seen, watch, quiet_ms, deadline, frames=frames
            )
            if state == "navigated":
                continue
            if state == "gone":
                # The document went away under the script: follow it if it was replaced.
                if await monitor.wait_commit(seen, deadline):
                    continue
                return
            if not monitor.busy(mark.requests) or not await monitor.wait_idle(mark.requests, deadline):
                return
            # The responses are in; what they render counts wherever it lands.
            watch = ""
            frames = 2


async def _follow_navigation(
    page: Page, monitor: NetworkMonitor, seen: Mark, deadline: float, worlds: IsolatedWorlds, target: Target
) -> None:
    """Wait for the navigation's commit, then for its document's load event."""
    loop = asyncio.get_running_loop()
    if not await monitor.wait_commit(seen, deadline):
        return
    remaining_ms = int((deadline - loop.time()) * 1000)
    if remaining_ms > 0:
        # The new document's world, made while it loads: the quiet wait after the load event
        # runs in it at once instead of first paying a round trip to create it.
        world = asyncio.ensure_future(worlds.context_id(target, target.frame_id, fresh=True))
        with contextlib.suppress(PlaywrightError):
            await page.wait_for_load_state("load", timeout=remaining_ms)
        with contextlib.suppress(PlaywrightError):
            await world


async def _dom_or_navigation(
    worlds: IsolatedWorlds,
    target: Target,
    monitor: NetworkMonitor,
    seen: Mark,
    watch: str,
    quiet_ms: int,
    deadline: float,
    *,
    frames: int = 2,
) -> str:
    """ "quiet" (or capped), "navigated" (the old document is not worth waiting for once a
    navigation started), or "gone" (the document could not be watched)."""
    dom = asyncio.ensure_future(_dom_quiet(worlds, target, watch, quiet_ms, deadline, frames))
    navigation = asyncio.ensure_future(monitor.wait_navigation(seen, deadline))
    try:
        await asyncio.wait([dom, navigation], return_when=asyncio.FIRST_COMPLETED)
    finally:
        dom.cancel()
        navigation.cancel()
    if monitor.navigating(seen):
        return "navigated"
    if dom.done() and not dom.cancelled() and not dom.result():
        return "gone"
    return "quiet"


async def _dom_quiet(
    worlds: IsolatedWorlds, target: Target, watch: str, quiet_ms: int, deadline: float, frames: int = 2
) -> bool:
    """False when the document could not be watched (it was replaced meanwhile)."""
    remaining_ms = int((deadline - asyncio.get_running_loop().time()) * 1000)
    if remaining_ms <= 0:
        return True
    try:
        await asyncio.wait_for(
            worlds.evaluate(
                target, target.frame_id, DOM_SETTLE, "settle", watch, quiet_ms, remaining_ms, frames
            ),
            timeout=remaining_ms / 1000 + 1,
        )
    except (PlaywrightError, ScriptError, TimeoutError):
        return False
    return True
