"""Adaptive settling after an action: wait for the DOM and the network to go quiet, capped.

No fixed sleeps: the DOM side is a MutationObserver in our isolated world that resolves after
`quiet_ms` without structural mutations; the network side counts a tab's requests in flight
(long-polling, websockets and event streams excluded). Both are bounded by one deadline, and a
navigation started by the action is followed to its new document first.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from dataclasses import dataclass
from typing import TYPE_CHECKING

from playwright.async_api import Error as PlaywrightError

from altostratus.adapters.browser.isolated import IsolatedWorlds, ScriptError
from altostratus.adapters.browser.scripts import DOM_QUIET

if TYPE_CHECKING:
    from playwright.async_api import Page, Request

    from altostratus.adapters.browser.perception.capture import Target

# Requests that stay open by design never make the network quiet.
_ENDLESS = frozenset({"websocket", "eventsource", "media"})
# A request open longer than this is treated as long-polling and ignored.
_LONG_POLL_S = 2.5


class NetworkMonitor:
    """Requests in flight for one page, with an event on every change."""

    def __init__(self, page: Page) -> None:
        self._inflight: dict[Request, float] = {}
        self.changed = asyncio.Event()
        self.navigations = 0
        page.on("request", self._started)
        page.on("requestfinished", self._ended)
        page.on("requestfailed", self._ended)
        page.on("framenavigated", self._navigated)
        self._page = page

    def _started(self, request: Request) -> None:
        if request.resource_type not in _ENDLESS:
            self._inflight[request] = time.monotonic()
            self.changed.set()

    def _ended(self, request: Request) -> None:
        if self._inflight.pop(request, None) is not None:
            self.changed.set()

    def _navigated(self, frame: object) -> None:
        if frame is self._page.main_frame:
            self.navigations += 1
            self.changed.set()

    def busy(self) -> int:
        now = time.monotonic()
        return sum(1 for started in self._inflight.values() if now - started < _LONG_POLL_S)

    async def wait_quiet(self, quiet_s: float, deadline: float) -> bool:
        """True once nothing was in flight for `quiet_s`; False at the deadline."""
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


@dataclass(frozen=True)
class SettleResult:
    ms: float
    dom: str  # "quiet", "cap" or "navigated"
    network_quiet: bool


async def settle(
    page: Page,
    target: Target,
    monitor: NetworkMonitor,
    worlds: IsolatedWorlds,
    *,
    cap_ms: int,
    quiet_ms: int,
) -> SettleResult:
    """Wait until the page is quiet (DOM and network) or `cap_ms` passed."""
    loop = asyncio.get_running_loop()
    started = loop.time()
    deadline = started + cap_ms / 1000
    quiet_s = quiet_ms / 1000
    dom_state = "cap"
    # The network's quiet window runs while the DOM's does: settling costs the longer of the two,
    # not their sum.
    network = asyncio.ensure_future(monitor.wait_quiet(quiet_s, deadline))
    for _ in range(3):
        remaining_ms = int((deadline - loop.time()) * 1000)
        if remaining_ms <= 0:
            break
        navigations = monitor.navigations
        try:
            result = await asyncio.wait_for(
                worlds.evaluate(target, target.frame_id, DOM_QUIET, quiet_ms, remaining_ms),
                timeout=remaining_ms / 1000 + 1,
            )
            dom_state = str((result or {}).get("why", "quiet"))
            if monitor.navigations == navigations:
                break
        except (PlaywrightError, ScriptError, TimeoutError):
            # The document was replaced mid-wait (a navigation): follow it to the new one.
            dom_state = "navigated"
            worlds.forget_target(target.key)
            with contextlib.suppress(PlaywrightError, TimeoutError):
                await page.wait_for_load_state(
                    "domcontentloaded", timeout=max(1, int((deadline - loop.time()) * 1000))
                )
    network_quiet = await network
    if network_quiet and monitor.busy():
        # It went quiet early, then the settled document started loading more: wait for that too.
        network_quiet = await monitor.wait_quiet(quiet_s, deadline)
    return SettleResult(ms=(loop.time() - started) * 1000, dom=dom_state, network_quiet=network_quiet)
