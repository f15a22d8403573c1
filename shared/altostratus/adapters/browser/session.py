"""`BrowserSession`: the one object an agent drives the browser through (one run, one context).

Public API (all coroutines unless marked)::

    runtime = await BrowserRuntime.start(LaunchConfig(), policy=TargetPolicy.parse(setting))
    session = await runtime.new_session(SessionConfig(...), state=None)   # or BrowserSession.open

    snap = await session.snapshot(full=False)   # Snapshot: .text (line format), .elements (ids e1…),
                                                #   .diff (vs the previous snapshot of this document, or
                                                #   None), .tokens, .ms, .fingerprint, .url, .title, .tabs
    report = await session.act(Click(element="e12"))      # or act({"type": "click", "element": "e12"})
                                                # EffectReport: .ok, .error (ActionError), .summary,
                                                #   .no_effect, .value/.value_matches, .checked,
                                                #   .url_changed, .new_tab, .dialogs, .downloads, .change
    await session.goto(url)                     # act(Navigate(url=url))
    png = await session.screenshot(full_page=False, max_scrolls=None)
    md = await session.markdown()               # PageMarkdown: .text with [text][3] links, .links {"3": url}
    html = await session.html()
    session.tabs() -> list[TabInfo]   (sync)    # switch/close with act(SwitchTab(tab="t2")) / act(CloseTab())
    session.downloads -> list[DownloadInfo]     # finished: path, filename, size, sha256 (sync property)
    await session.wait_for_downloads(timeout_s=30)
    state = await session.export_state()        # BrowserState: storage state, tabs, active tab
    session2 = await runtime.new_session(config, state=state)   # restore in a new context
    session.element("e12") -> Element | None    # last seen: role, name, bbox, selector bundle (sync)
    await session.close()

Raises: `BrowserCrashedError` / `BrowserDisconnectedError` (both `BrowserGoneError`) when the
browser or the active tab's renderer is gone; `SessionClosedError` after `close`. Everything that
goes wrong with one action is in its report instead (``report.ok is False``, ``report.error``).

Page content is data: nothing here follows instructions found on a page, and password values
never leave the browser (snapshots and read-backs show them masked).
"""

from __future__ import annotations

import asyncio
import base64
import contextlib
import json
import logging
import re
import tempfile
from collections.abc import Awaitable
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal, TypeVar

from playwright.async_api import Error as PlaywrightError

from altostratus.adapters.browser.act import ActContext, execute
from altostratus.adapters.browser.act.pixels import execute_pixels
from altostratus.adapters.browser.actions import Action, Navigate, parse_action
from altostratus.adapters.browser.config import SessionConfig
from altostratus.adapters.browser.downloads import DownloadTracker
from altostratus.adapters.browser.effects import DownloadInfo, EffectReport
from altostratus.adapters.browser.errors import BrowserCrashedError, SessionClosedError
from altostratus.adapters.browser.isolated import IsolatedWorlds
from altostratus.adapters.browser.markdown import PageMarkdown, page_markdown
from altostratus.adapters.browser.perception import Element, ElementRegistry, Perceiver, Snapshot, TabInfo
from altostratus.adapters.browser.perception.capture import capture_page
from altostratus.adapters.browser.pinning_proxy import ProxyRoute, Upstream
from altostratus.adapters.browser.scripts import PAGE_METRICS, SCROLL
from altostratus.adapters.browser.settle import Settler
from altostratus.adapters.browser.state import BrowserState, TabState
from altostratus.adapters.browser.tabs import Tab, TabManager
from altostratus.ports.computer import PixelAction

if TYPE_CHECKING:
    from playwright.async_api import BrowserContext, Page, WebSocketRoute

    from altostratus.adapters.browser.runtime import BrowserRuntime

log = logging.getLogger(__name__)
T = TypeVar("T")
_CLOSE_TIMEOUT_S = 5.0


class BrowserSession:
    """One run's browser context: tabs, perception, actions, downloads, checkpoints."""

    def __init__(
        self,
        runtime: BrowserRuntime,
        context: BrowserContext,
        config: SessionConfig,
        download_dir: Path,
        settler: Settler | None = None,
    ):
        self.runtime = runtime
        self.context = context
        self.config = config
        self.download_dir = download_dir
        self._downloads = DownloadTracker(download_dir)
        self._tabs = TabManager(context, self._downloads)
        self._perceiver = Perceiver(ElementRegistry(), with_ax=config.perception == "ax")
        self._worlds = IsolatedWorlds()
        self._ctx = ActContext(
            config,
            self._tabs,
            self._perceiver,
            self._worlds,
            runtime.guard,
            self._downloads,
            settler or Settler(),
        )
        self._closed = False
        self.last_snapshot: Snapshot | None = None
        # The connect-time proxy's listener for this run's own proxy, if it has one.
        self._route: ProxyRoute | None = None
        # A kept context (a browser session's) outlives this object: close leaves it open.
        self._keep_context = False

    @classmethod
    async def open(
        cls,
        runtime: BrowserRuntime,
        config: SessionConfig,
        *,
        state: BrowserState | None = None,
        settler: Settler | None = None,
        keep: BrowserContext | None = None,
    ) -> BrowserSession:
        """A new context on the runtime's browser with one blank tab (or the checkpoint's tabs);
        or, with `keep`, that existing context with its open pages, left open on close (a
        browser session's, whose pages and cookies outlive the run).

        `settler` decides how long to wait after each action (a `Settler` unless given)."""
        runtime.check_alive()
        if keep is not None:
            return await cls._adopt(runtime, keep, config, settler)
        root = runtime.config.temp_root()
        download_dir = config.download_dir or Path(tempfile.mkdtemp(prefix="alto-downloads-", dir=root))
        options: dict[str, Any] = {
            "viewport": {"width": config.viewport.width, "height": config.viewport.height},
            # Screenshots are exactly the viewport's size: what screenshot-driven models are told.
            "device_scale_factor": 1,
            "accept_downloads": True,
            # Service-worker fetches would skip the page's request handling; pages work without.
            "service_workers": "block",
        }
        if config.extra_http_headers:
            options["extra_http_headers"] = dict(config.extra_http_headers)
        route: ProxyRoute | None = None
        if config.proxy is not None and runtime.proxy is not None:
            # The context's proxy setting overrides the browser's, so the run's proxy is reached
            # through a listener of the connect-time proxy of its own: targets stay checked, and
            # the run's proxy is checked and pinned too unless the operator configured it. Its
            # credentials stay in the proxy, away from Chromium. (A bypass list is never set
            # from a run request; through the route everything goes to the run's proxy.)
            upstream = Upstream.from_settings(config.proxy, trusted=config.proxy_trusted)
            route = await runtime.proxy.route_through(upstream)
            options["proxy"] = {"server": route.server}
        elif config.proxy is not None:
            # A browser reached over CDP has no connect-time proxy: Chromium goes to the run's
            # proxy itself.
            options["proxy"] = config.proxy.playwright()
        for name in ("user_agent", "locale", "timezone_id"):
            if getattr(config, name):
                options[name] = getattr(config, name)
        if state is not None and state.storage_state:
            options["storage_state"] = state.storage_state
        try:
            context = await runtime.browser.new_context(**options)
        except BaseException:
            if route is not None:
                await route.close()
            raise
        context.set_default_timeout(config.action_timeout_ms)
        context.set_default_navigation_timeout(config.navigation_timeout_ms)
        session = cls(runtime, context, config, download_dir, settler)
        session._route = route
        await context.route_web_socket(re.compile(".*"), session._guard_websocket)
        session._tabs.start()
        page = await context.new_page()
        tab = session._tabs.add(page)
        await session._tabs.ready(tab)
        if state is not None and state.tabs:
            await session._restore_tabs(state)
        return session

    @classmethod
    async def _adopt(
        cls,
        runtime: BrowserRuntime,
        context: BrowserContext,
        config: SessionConfig,
        settler: Settler | None = None,
    ) -> BrowserSession:
        root = runtime.config.temp_root()
        download_dir = config.download_dir or Path(tempfile.mkdtemp(prefix="alto-downloads-", dir=root))
        context.set_default_timeout(config.action_timeout_ms)
        context.set_default_navigation_timeout(config.navigation_timeout_ms)
        if config.extra_http_headers:
            await context.set_extra_http_headers(dict(config.extra_http_headers))
        session = cls(runtime, context, config, download_dir, settler)
        session._keep_context = True
        await context.route_web_socket(re.compile(".*"), session._guard_websocket)
        session._tabs.start()
        pages = [p for p in context.pages if not p.is_closed()] or [await context.new_page()]
        for page in pages:
            await session._tabs.ready(session._tabs.add(page))
        # The page the previous run worked in is the last one it left open.
        session._tabs.active_id = session._tabs.open_tabs()[-1].id
        return session

    async def _guard_websocket(self, ws: WebSocketRoute) -> None:
        # CDP's Fetch domain does not see WebSocket handshakes; check them here.
        reason = await self.runtime.guard.refusal_for(ws.url)
        if reason is not None:
            log.info("blocked websocket %s: %s", ws.url, reason)
            await ws.close(code=1008, reason="refused by the address policy")
            return
        ws.connect_to_server()

    async def _restore_tabs(self, state: BrowserState) -> None:
        for index, saved in enumerate(state.tabs):
            tab = self._tabs.open_tabs()[0] if index == 0 else self._tabs.add(await self.context.new_page())
            await self._tabs.ready(tab)
            if saved.url and saved.url != "about:blank":
                script = _session_storage_script(saved)
                installed = await tab.page.add_init_script(script) if script else None
                try:
                    report = await self._act_on(tab, Navigate(url=saved.url))
                finally:
                    if installed is not None:
                        # Only this first load gets the saved items; later ones keep what the
                        # page itself stores.
                        with contextlib.suppress(PlaywrightError):
                            await installed.close()
                if not report.ok:
                    log.warning("could not restore tab %s: %s", saved.url, report.detail)
        tabs = self._tabs.open_tabs()
        if tabs:
            self._tabs.active_id = tabs[min(state.active_tab, len(tabs) - 1)].id

    async def _act_on(self, tab: Tab, action: Action) -> EffectReport:
        previous = self._tabs.active_id
        self._tabs.active_id = tab.id
        try:
            return await self.act(action)
        finally:
            if self._tabs.get(previous) is not None and previous != tab.id:
                self._tabs.active_id = previous

    # -- health --

    def _check(self) -> None:
        if self._closed:
            raise SessionClosedError("the browser session is closed")
        self.runtime.check_alive()
        tab = self._tabs.active
        if tab is not None and tab.crashed:
            raise BrowserCrashedError(f"the page in tab {tab.id} crashed ({tab.page.url})")

    async def _watch(self, work: Awaitable[T]) -> T:
        """Await `work`, unless the active tab crashes or the browser goes first (then raise that)."""
        tab = self._tabs.active
        job = asyncio.ensure_future(work)
        alarms = [asyncio.ensure_future(self.runtime.gone.wait())]
        if tab is not None:
            alarms.append(asyncio.ensure_future(tab.crash.wait()))
        try:
            await asyncio.wait([job, *alarms], return_when=asyncio.FIRST_COMPLETED)
        finally:
            for alarm in alarms:
                alarm.cancel()
        if job.done():
            return job.result()
        job.cancel()
        self._check()
        raise BrowserCrashedError("the browser stopped answering")

    def _tab(self) -> Tab:
        self._check()
        tab = self._tabs.active
        if tab is None:
            raise SessionClosedError("every tab of the session is closed")
        return tab

    @property
    def page(self) -> Page:
        """The active tab's Playwright page (an escape hatch; prefer `act`)."""
        return self._tab().page

    def tabs(self) -> list[TabInfo]:
        return self._tabs.infos()

    def active_page(self) -> Page | None:
        """The active tab's page, or None when the session is closed, the tab crashed or
        every tab is closed (never raises; for watchers such as the screencast)."""
        tab = None if self._closed else self._tabs.active
        return tab.page if tab is not None and not tab.crashed else None

    # -- perception --

    async def snapshot(self, *, full: bool = False) -> Snapshot:
        """The active tab in the line format (see `Snapshot`); diffs against the previous one."""
        tab = self._tab()
        await self._tabs.ready(tab)
        if len(self._tabs.open_tabs()) > 1:
            # Other tabs' titles are shown in the header; the page's own comes with its snapshot.
            await self._tabs.refresh_titles()
        try:
            snapshot = await self._watch(
                self._perceiver.snapshot(tab.targets, full=full, tabs=self._tabs.infos())
            )
        except PlaywrightError:
            self._check()
            raise
        self.last_snapshot = snapshot
        return snapshot

    def element(self, element_id: str) -> Element | None:
        """The element as last seen (role, name, box, selector bundle), or None."""
        return self._perceiver.registry.last_seen(element_id)

    async def markdown(self) -> PageMarkdown:
        """The active tab's rendered text as markdown, links as references (see `PageMarkdown`)."""
        tab = self._tab()
        await self._tabs.ready(tab)
        return page_markdown(await self._watch(capture_page(tab.targets)))

    async def html(self) -> str:
        return await self._watch(self._tab().page.content())

    async def evaluate(self, script: str, *args: Any) -> Any:
        """`(script)(...args)` in the active tab's main frame, in our isolated world (the page's
        own scripts can neither see nor change it); None while the tab has no document."""
        tab = self._tab()
        await self._tabs.ready(tab)
        main = tab.targets.main
        if main is None:
            return None
        return await self._watch(self._worlds.evaluate(main, main.frame_id, script, *args))

    async def screenshot(
        self,
        *,
        full_page: bool = False,
        max_scrolls: int | None = None,
        image_type: Literal["png", "jpeg"] = "png",
    ) -> bytes:
        """The viewport, or the page from the top down to `max_scrolls` screens below the first.

        For a full page, the page is first scrolled screen by screen (so lazy content loads),
        then back to where it was.
        """
        tab = self._tab()
        if not full_page:
            return await self._watch(self._viewport_screenshot(tab, image_type))
        return await self._watch(self._full_screenshot(tab, max_scrolls, image_type))

    async def _viewport_screenshot(self, tab: Tab, image_type: Literal["png", "jpeg"]) -> bytes:
        # Straight from the compositor, encoded for speed: it is taken after every batch of
        # actions, beside the next snapshot.
        await self._tabs.ready(tab)
        main = tab.targets.main
        if main is None:
            return await tab.page.screenshot(type=image_type)
        shot = await main.cdp.send("Page.captureScreenshot", {"format": image_type, "optimizeForSpeed": True})
        return base64.b64decode(shot["data"])

    async def _full_screenshot(
        self, tab: Tab, max_scrolls: int | None, image_type: Literal["png", "jpeg"]
    ) -> bytes:
        page = tab.page
        await self._tabs.ready(tab)
        main = tab.targets.main
        assert main is not None
        scrolls = self.config.max_screenshot_scrolls if max_scrolls is None else max(0, max_scrolls)
        metrics = await self._worlds.evaluate(main, main.frame_id, PAGE_METRICS)
        for _ in range(scrolls):
            mark = await self._ctx.mark(tab)
            moved = await self._worlds.evaluate(main, main.frame_id, SCROLL, 0, 1, 1)
            if moved["after"]["y"] == moved["before"]["y"]:
                break
            # Lazy content the scroll brought in (at most a second a screen).
            await self._ctx.settle(tab, mark, cap_ms=1_000)
        end = await self._worlds.evaluate(main, main.frame_id, PAGE_METRICS)
        await self._worlds.evaluate(main, main.frame_id, f"() => window.scrollTo(0, {float(metrics['y'])})")
        height = min(float(end["height"]), float(metrics["vh"]) * (scrolls + 1))
        clip = {"x": 0.0, "y": 0.0, "width": float(metrics["vw"]), "height": max(1.0, height)}
        return await page.screenshot(type=image_type, full_page=True, clip=clip)  # type: ignore[arg-type]

    # -- actions --

    async def act(self, action: Action | dict[str, Any]) -> EffectReport:
        """Run one action and report what it did (never raises for the action's own failures)."""
        parsed = parse_action(action) if isinstance(action, dict) else action
        self._check()
        return await self._watch(execute(self._ctx, parsed, on_browser_error=self._check))

    async def goto(self, url: str) -> EffectReport:
        return await self.act(Navigate(url=url))

    async def act_pixels(self, action: PixelAction) -> tuple[EffectReport, dict[str, Any] | None]:
        """Run one action at screen coordinates; its report and the element its point hit."""
        self._check()
        return await self._watch(execute_pixels(self._ctx, action, on_browser_error=self._check))

    def viewport(self) -> tuple[int, int]:
        """The viewport's size in CSS pixels (screenshots are this size: device scale 1)."""
        return self.config.viewport.width, self.config.viewport.height

    async def location(self) -> tuple[str, str]:
        """The active tab's URL and title."""
        page = self._tab().page
        return page.url, await self._watch(page.title())

    # -- downloads --

    @property
    def downloads(self) -> list[DownloadInfo]:
        """Finished downloads, oldest first (path, filename, size, sha256)."""
        return self._downloads.finished

    @property
    def all_downloads(self) -> list[DownloadInfo]:
        return self._downloads.records

    async def wait_for_downloads(self, timeout_s: float = 30.0) -> list[DownloadInfo]:
        await self._downloads.wait_idle(timeout_s)
        return self._downloads.finished

    # -- checkpoints --

    async def export_state(self) -> BrowserState:
        """Cookies, local storage and open tabs, to restore with `BrowserRuntime.new_session`."""
        self._check()
        storage = await self._watch(self.context.storage_state(indexed_db=True))
        await self._tabs.refresh_titles()
        tabs = self._tabs.open_tabs()
        active = next((i for i, t in enumerate(tabs) if t.id == self._tabs.active_id), 0)
        saved = []
        for tab in tabs:
            origin, items = await self._session_storage(tab)
            saved.append(
                TabState(url=tab.page.url, title=tab.title, session_origin=origin, session_storage=items)
            )
        return BrowserState(storage_state=dict(storage), tabs=tuple(saved), active_tab=active)

    async def _session_storage(self, tab: Tab) -> tuple[str, dict[str, str]]:
        """The tab's origin and session storage; nothing for a page that has none to give
        (about:blank, an opaque origin, a crashed or busy tab)."""
        if tab.crashed:
            return "", {}
        try:
            found = await asyncio.wait_for(tab.page.evaluate(_READ_SESSION_STORAGE), _CLOSE_TIMEOUT_S)
        except (PlaywrightError, TimeoutError):
            return "", {}
        if not isinstance(found, list) or len(found) != 2 or not isinstance(found[1], dict):
            return "", {}
        return str(found[0]), {str(k): str(v) for k, v in found[1].items()}

    async def close(self) -> None:
        if self._closed:
            return
        self._closed = True
        if self._keep_context:
            for tab in self._tabs.open_tabs():
                with contextlib.suppress(PlaywrightError, TimeoutError):
                    await asyncio.wait_for(tab.targets.close(), _CLOSE_TIMEOUT_S)
            with contextlib.suppress(PlaywrightError, TimeoutError):
                await asyncio.wait_for(self.context.unroute_all(behavior="ignoreErrors"), _CLOSE_TIMEOUT_S)
            return
        # A crashed or vanished browser never answers; closing must not wait for it forever.
        for tab in self._tabs.open_tabs():
            if tab.crashed:
                continue
            with contextlib.suppress(PlaywrightError, TimeoutError):
                await asyncio.wait_for(tab.targets.close(), _CLOSE_TIMEOUT_S)
        with contextlib.suppress(PlaywrightError, TimeoutError):
            await asyncio.wait_for(self.context.close(), _CLOSE_TIMEOUT_S)
        if self._route is not None:
            await self._route.close()

    async def __aenter__(self) -> BrowserSession:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.close()


# The page's origin and session storage, read in its own frame (top-level only: a checkpoint
# keeps the tab's storage, not that of the frames it embeds).
_READ_SESSION_STORAGE = """() => {
  try {
    const items = {};
    for (let i = 0; i < sessionStorage.length; i++) {
      const key = sessionStorage.key(i);
      items[key] = sessionStorage.getItem(key);
    }
    return [location.origin, items];
  } catch (e) {
    return ["", {}];
  }
}"""


def _session_storage_script(saved: TabState) -> str | None:
    """An init script that puts the tab's saved session storage back before the page's own
    scripts run, in the top frame of the saved origin only."""
    if not saved.session_storage or not saved.session_origin or saved.session_origin == "null":
        return None
    origin = json.dumps(saved.session_origin)
    items = json.dumps(sorted(saved.session_storage.items()))
    return (
        "(() => { if (window !== window.top || location.origin !== "
        f"{origin}) return; try {{ for (const [k, v] of {items}) sessionStorage.setItem(k, v); }} "
        "catch (e) {} })();"
    )
