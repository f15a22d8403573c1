"""The agent loop as it was before settling followed the action and the recorder batched its
writes, rebuilt from the product's parts for `bench/agent.py` to measure against:

- `FixedWindowSettler`: after every action, wait until the whole document had no structural
  mutation for the quiet window and no request was in flight for the same window (both run
  together), following a navigation to its DOMContentLoaded first; capped.
- `CountingEventLog`: the real SQLite event log, counting appends and view reads per step; with
  `one_event_per_append` it writes every staged event on its own, as the recorder used to.
- `TodaysBrowser`: the agent's browser port with the viewport screenshot Playwright takes.

Nothing here is product code; it is the baseline the bench prints beside today's figures.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Sequence
from dataclasses import dataclass, field

from playwright.async_api import Error as PlaywrightError
from playwright.async_api import Page

from altostratus.adapters.browser.agent_browser import SessionBrowser
from altostratus.adapters.browser.isolated import IsolatedWorlds, ScriptError
from altostratus.adapters.browser.perception.capture import Target
from altostratus.adapters.browser.settle import Mark, NetworkMonitor, Settler
from altostratus.adapters.sqlite_db import SQLiteDatabase
from altostratus.adapters.sqlite_event_log import SQLiteEventLog
from altostratus.domain import events as ev
from altostratus.domain.view import RunView
from altostratus.ports.clock import Clock
from altostratus.ports.event_log import AppendResult, Claim

# The quiet-window observer the fixed-window settling ran in the page's isolated world.
DOM_QUIET = """function(quiet, cap) {
  return new Promise((resolve) => {
    const started = performance.now();
    let timer = null, capTimer = null, mutations = 0;
    const watched = new Set(["value", "checked", "disabled", "hidden", "open", "href", "src",
      "aria-expanded", "aria-hidden", "aria-selected", "aria-checked", "aria-busy"]);
    const done = (why) => {
      observer.disconnect(); clearTimeout(timer); clearTimeout(capTimer);
      resolve({why, mutations, ms: performance.now() - started});
    };
    const observer = new MutationObserver((records) => {
      const relevant = records.some((r) => r.type !== "attributes" || watched.has(r.attributeName));
      if (!relevant) return;
      mutations += 1;
      clearTimeout(timer);
      timer = setTimeout(() => done("quiet"), quiet);
    });
    observer.observe(document, {subtree: true, childList: true, characterData: true, attributes: true});
    timer = setTimeout(() => done("quiet"), quiet);
    capTimer = setTimeout(() => done("cap"), cap);
  });
}"""


class FixedWindowSettler(Settler):
    """Quiet windows on the whole document and the whole network after every action."""

    async def mark(self, worlds: IsolatedWorlds, target: Target | None, monitor: NetworkMonitor) -> Mark:
        return monitor.mark()

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
        loop = asyncio.get_running_loop()
        deadline = loop.time() + cap_ms / 1000
        network = asyncio.ensure_future(monitor.wait_quiet(quiet_ms / 1000, deadline))
        for _ in range(3):
            remaining_ms = int((deadline - loop.time()) * 1000)
            if remaining_ms <= 0:
                break
            navigations = monitor.navigations
            try:
                await asyncio.wait_for(
                    worlds.evaluate(target, target.frame_id, DOM_QUIET, quiet_ms, remaining_ms),
                    timeout=remaining_ms / 1000 + 1,
                )
                if monitor.navigations == navigations:
                    break
            except (PlaywrightError, ScriptError, TimeoutError):
                # The document was replaced mid-wait: follow it to the new one.
                worlds.forget_target(target.key)
                with contextlib.suppress(PlaywrightError, TimeoutError):
                    await page.wait_for_load_state(
                        "domcontentloaded", timeout=max(1, int((deadline - loop.time()) * 1000))
                    )
        if await network and monitor.busy():
            await monitor.wait_quiet(quiet_ms / 1000, deadline)


class TodaysBrowser(SessionBrowser):
    async def screenshot(self, *, scrolls: int = 0) -> bytes:
        if scrolls <= 0:
            return await self.session.page.screenshot()
        return await super().screenshot(scrolls=scrolls)


@dataclass
class StepTally:
    appends: int = 0
    view_reads: int = 0


@dataclass
class _Window:
    appends: int = 0
    view_reads: int = 0
    done: dict[str, StepTally] = field(default_factory=dict)


class CountingEventLog(SQLiteEventLog):
    """Counts appends and view reads (the ones inside an append too) and gives each step the
    ones made since the previous step ended, up to its own end."""

    one_event_per_append = False

    def __init__(self, db: SQLiteDatabase, clock: Clock) -> None:
        super().__init__(db, clock)
        self._window = _Window()

    @property
    def steps(self) -> dict[str, StepTally]:
        return self._window.done

    def reset(self) -> None:
        self._window = _Window()

    def append(
        self,
        run_id: str,
        drafts: Sequence[ev.Draft],
        *,
        expected_version: int | None = None,
        claim: Claim | None = None,
    ) -> AppendResult:
        if self.one_event_per_append and len(drafts) > 1 and expected_version is None and claim is None:
            results = [self.append(run_id, [draft]) for draft in drafts]
            return AppendResult(
                view=results[-1].view,
                events=tuple(e for r in results for e in r.events),
                duplicate=all(r.duplicate for r in results),
            )
        self._window.appends += 1
        result = super().append(run_id, drafts, expected_version=expected_version, claim=claim)
        for draft in drafts:
            if isinstance(draft.data, ev.StepFinished):
                window = self._window
                window.done[draft.data.step_id] = StepTally(window.appends, window.view_reads)
                window.appends = window.view_reads = 0
        return result

    def get_view(self, run_id: str) -> RunView | None:
        self._window.view_reads += 1
        return super().get_view(run_id)


class ChattyEventLog(CountingEventLog):
    one_event_per_append = True
