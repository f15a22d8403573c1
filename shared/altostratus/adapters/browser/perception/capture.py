"""Raw page capture over CDP: one DOM snapshot per renderer target, taken concurrently.

A page's main target holds its own frames and every same-process iframe; each out-of-process
iframe (a cross-site one, under site isolation) has its own target, reached through Playwright's
`new_cdp_session(frame)`. `PageTargets` keeps those sessions; `capture_page` asks every target
for its DOM snapshot (layout, paint order, a few computed styles; shadow roots included, closed
ones too) and its frame tree (for each frame's loader id, which says when a document is new),
plus, in "ax" mode, the accessibility tree of each frame.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from playwright.async_api import Error as PlaywrightError

from altostratus.adapters.browser.cdp import send_large
from altostratus.adapters.browser.perception.dom import STYLE_NAMES, DocView
from altostratus.adapters.browser.perception.trees import PiercedTree

if TYPE_CHECKING:
    from playwright.async_api import BrowserContext, CDPSession, Frame, Page

_SNAPSHOT_PARAMS: dict[str, Any] = {"computedStyles": list(STYLE_NAMES), "includePaintOrder": True}


@dataclass
class Target:
    """One CDP session that captures its own documents: the page, or an out-of-process iframe."""

    key: str
    cdp: CDPSession
    frame: Frame
    # CDP id of the target's root frame (the tab's main frame keeps its id across navigations)
    frame_id: str = ""


@dataclass
class TargetCapture:
    target: Target
    docs: list[DocView]
    # frame id -> loader id (changes with every new document in that frame)
    loaders: dict[str, str]
    # frame id -> accessibility nodes ("ax" mode only)
    ax: dict[str, list[dict[str, Any]]] = field(default_factory=dict)
    # For an out-of-process iframe: (key of the parent target, backend id of the <iframe>).
    owner: tuple[str, int] | None = None
    # The real tree, fetched only when a document has shadow DOM (see trees.py).
    pierced: PiercedTree | None = None


@dataclass
class PageCapture:
    targets: list[TargetCapture]
    viewport_width: float
    viewport_height: float

    @property
    def main(self) -> TargetCapture:
        return self.targets[0]


class PageTargets:
    """The CDP sessions of one page, refreshed as out-of-process iframes come and go."""

    def __init__(self, context: BrowserContext, page: Page, *, prefix: str = "t") -> None:
        self._context = context
        self.page = page
        # Target keys start with the tab's id, so an element's key says which tab holds it.
        self.prefix = prefix
        self.main: Target | None = None
        self._oopifs: dict[int, Target] = {}
        # id(frame) -> the URL at which the frame was found to share the page's process
        self._in_process: dict[int, str] = {}
        self._keys = itertools.count(1)
        self._owners: dict[tuple[str, str], tuple[str, int]] = {}

    async def start(self) -> Target:
        if self.main is None:
            cdp = await self._context.new_cdp_session(self.page)
            tree = await cdp.send("Page.getFrameTree")
            self.main = Target(self.prefix, cdp, self.page.main_frame, tree["frameTree"]["frame"]["id"])
        return self.main

    async def refresh(self) -> list[Target]:
        """The page's targets now: the main one first, then each out-of-process iframe."""
        main = await self.start()
        live: dict[int, Target] = {}
        for frame in self.page.frames[1:]:
            if frame.is_detached():
                continue
            key = id(frame)
            if key in self._oopifs:
                live[key] = self._oopifs[key]
                continue
            # A frame that navigates cross-site can move to its own process: look again.
            if self._in_process.get(key) == frame.url:
                continue
            try:
                cdp = await self._context.new_cdp_session(frame)
            except PlaywrightError:
                self._in_process[key] = frame.url
                continue
            try:
                tree = await cdp.send("Page.getFrameTree")
            except PlaywrightError:
                continue
            live[key] = Target(
                f"{self.prefix}/f{next(self._keys)}", cdp, frame, tree["frameTree"]["frame"]["id"]
            )
        for key, target in self._oopifs.items():
            if key not in live:
                with contextlib.suppress(PlaywrightError):
                    await target.cdp.detach()
        self._oopifs = live
        return [main, *live.values()]

    def find(self, key: str) -> Target | None:
        """The live target with this key (the main one or an out-of-process iframe's)."""
        if self.main is not None and self.main.key == key:
            return self.main
        return next((t for t in self._oopifs.values() if t.key == key), None)

    def oopifs(self) -> list[Target]:
        return list(self._oopifs.values())

    def target_of(self, frame: Frame) -> Target | None:
        """The out-of-process target showing `frame`, if it has one."""
        return self._oopifs.get(id(frame))

    def forget(self, target: Target) -> None:
        """Drop a target whose session failed (its frame moved to another process)."""
        for key, known in list(self._oopifs.items()):
            if known is target:
                del self._oopifs[key]
                self._in_process.pop(key, None)

    async def owner_of(self, frame_id: str, parents: list[Target]) -> tuple[str, int] | None:
        """Which <iframe> element (in which target) shows the out-of-process frame `frame_id`."""
        for target in parents:
            cache_key = (target.key, frame_id)
            if cache_key in self._owners:
                return self._owners[cache_key]
            try:
                result = await target.cdp.send("DOM.getFrameOwner", {"frameId": frame_id})
            except PlaywrightError:
                continue
            owner = (target.key, int(result["backendNodeId"]))
            self._owners[cache_key] = owner
            return owner
        return None

    async def close(self) -> None:
        for target in [*self._oopifs.values(), *([self.main] if self.main else [])]:
            with contextlib.suppress(PlaywrightError):
                await target.cdp.detach()
        self._oopifs.clear()
        self.main = None


def _loaders(tree: dict[str, Any]) -> dict[str, str]:
    found: dict[str, str] = {}
    stack = [tree.get("frameTree", {})]
    while stack:
        node = stack.pop()
        frame = node.get("frame") or {}
        if "id" in frame:
            found[frame["id"]] = frame.get("loaderId", "")
        stack.extend(node.get("childFrames") or [])
    return found


async def _capture_target(target: Target, *, with_ax: bool) -> TargetCapture:
    snapshot, tree = await asyncio.gather(
        send_large(target.cdp, "DOMSnapshot.captureSnapshot", _SNAPSHOT_PARAMS),
        target.cdp.send("Page.getFrameTree"),
    )
    strings: list[str] = snapshot["strings"]
    docs = [DocView.decode(raw, strings) for raw in snapshot["documents"]]
    capture = TargetCapture(target, docs, _loaders(tree))
    if any(d.shadow_root_type for d in docs):
        document = await send_large(target.cdp, "DOM.getDocument", {"depth": -1, "pierce": True})
        capture.pierced = PiercedTree(document["root"])
    if with_ax:
        frame_ids = [d.frame_id for d in docs if d.frame_id]
        results = await asyncio.gather(
            *(send_large(target.cdp, "Accessibility.getFullAXTree", {"frameId": f}) for f in frame_ids),
            return_exceptions=True,
        )
        for frame_id, result in zip(frame_ids, results, strict=True):
            if isinstance(result, dict):
                capture.ax[frame_id] = result.get("nodes", [])
    return capture


async def capture_page(targets: PageTargets, *, with_ax: bool = False) -> PageCapture:
    """Snapshot every target of the page at once; the main target's capture comes first."""
    live = await targets.refresh()
    results = await asyncio.gather(
        *(_capture_target(t, with_ax=with_ax) for t in live), return_exceptions=True
    )
    captures: list[TargetCapture] = []
    for target, result in zip(live, results, strict=True):
        if isinstance(result, BaseException):
            if target is live[0]:
                raise result
            targets.forget(target)
            continue
        captures.append(result)
    main = captures[0]
    for capture in captures[1:]:
        if capture.docs:
            parents = [c.target for c in captures if c is not capture]
            capture.owner = await targets.owner_of(capture.docs[0].frame_id, parents)
    size = targets.page.viewport_size
    if size is not None:
        width, height = float(size["width"]), float(size["height"])
    else:
        metrics = await main.target.cdp.send("Page.getLayoutMetrics")
        viewport = metrics.get("cssLayoutViewport", {})
        width, height = float(viewport.get("clientWidth", 0)), float(viewport.get("clientHeight", 0))
    return PageCapture(captures, width, height)
