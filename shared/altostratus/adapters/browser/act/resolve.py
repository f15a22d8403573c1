"""Finding the element an id names, at action time, and where it is on screen.

An id resolves through its DOM node (CDP backend node id) in our isolated world. When the node
is gone — a framework re-rendered it — the element is looked for again by what it was (same
role and name in the same frame, the CSS path breaking ties), and the report says so.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from typing import Any

from playwright.async_api import Error as PlaywrightError

from altostratus.adapters.browser.act.base import ActContext, ActionFailed
from altostratus.adapters.browser.effects import ActionError
from altostratus.adapters.browser.isolated import ScriptError
from altostratus.adapters.browser.perception.capture import Target
from altostratus.adapters.browser.perception.model import Element
from altostratus.adapters.browser.scripts import PROBE
from altostratus.adapters.browser.tabs import Tab


@dataclass
class Resolved:
    element_id: str
    element: Element
    tab: Tab
    target: Target
    object_id: str
    note: str | None = None

    async def call(self, ctx: ActContext, function: str, *args: Any) -> Any:
        try:
            return await ctx.worlds.call(self.target, self.object_id, function, *args)
        except (PlaywrightError, ScriptError) as exc:
            raise ActionFailed(ActionError.ELEMENT_GONE, f"{self.element_id} went away: {exc}") from exc


async def resolve(ctx: ActContext, element_id: str) -> Resolved:
    """The live node behind an id (or its replacement); raises ActionFailed when there is none."""
    element = ctx.perceiver.registry.last_seen(element_id)
    if element is None:
        raise ActionFailed(
            ActionError.ELEMENT_NOT_FOUND,
            f"{element_id} is not an element of the current page (unknown id, or from a page that is gone); "
            "take a new snapshot",
        )
    tab = ctx.tabs.get(element.ref.target.split("/", 1)[0])
    if tab is None:
        raise ActionFailed(ActionError.ELEMENT_GONE, f"the tab that showed {element_id} was closed")
    await ctx.tabs.ready(tab)
    target = tab.targets.find(element.ref.target)
    if target is not None:
        try:
            object_id = await ctx.worlds.resolve(target, element.ref.frame_id, element.ref.backend_node_id)
            connected = await ctx.worlds.call(target, object_id, "function() { return this.isConnected; }")
            if connected:
                return Resolved(element_id, element, tab, target, object_id)
        except (PlaywrightError, ScriptError):
            pass
    return await _find_again(ctx, element_id, element, tab)


async def _find_again(ctx: ActContext, element_id: str, element: Element, tab: Tab) -> Resolved:
    model = await ctx.perceiver.model(tab.targets)
    same = [
        e for e in model.elements if e.role == element.role and e.name == element.name and e.id != element_id
    ]
    if len(same) > 1:
        same = [e for e in same if e.selectors.css == element.selectors.css] or same
    if len(same) != 1:
        what = f'{element.role} "{element.name}"'
        found = "several candidates" if same else "nothing like it"
        raise ActionFailed(
            ActionError.ELEMENT_GONE, f"{element_id} ({what}) is no longer on the page ({found})"
        )
    replacement = same[0]
    target = tab.targets.find(replacement.ref.target)
    if target is None:
        raise ActionFailed(ActionError.ELEMENT_GONE, f"{element_id} is no longer on the page")
    try:
        object_id = await ctx.worlds.resolve(
            target, replacement.ref.frame_id, replacement.ref.backend_node_id
        )
    except PlaywrightError as exc:
        raise ActionFailed(ActionError.ELEMENT_GONE, f"{element_id} is no longer on the page") from exc
    note = (
        f"{element_id} was re-rendered by the page; acted on its replacement {replacement.id} "
        f'(same {element.role} "{element.name}").'
    )
    return Resolved(replacement.id, replacement, tab, target, object_id, note)


async def frame_origin(ctx: ActContext, resolved: Resolved) -> tuple[float, float] | None:
    """Viewport offset of the element's frame: element quad centre minus its frame-local centre.

    Works for same-process frames (CDP quads are in the tab's coordinates) and adds the owner
    <iframe>'s content box for out-of-process frames.
    """
    try:
        quads, box = await asyncio.gather(
            resolved.target.cdp.send("DOM.getContentQuads", {"objectId": resolved.object_id}),
            resolved.call(ctx, "function() { const r = this.getBoundingClientRect(); return [r.x, r.y]; }"),
        )
    except PlaywrightError:
        return None
    if not quads.get("quads"):
        return None
    quad = quads["quads"][0]
    dx, dy = quad[0] - box[0], quad[1] - box[1]
    ox, oy = await target_origin(ctx, resolved.tab, resolved.target)
    return (dx + ox, dy + oy)


async def target_origin(ctx: ActContext, tab: Tab, target: Target) -> tuple[float, float]:
    """Where an out-of-process frame's viewport starts in the tab's viewport ((0, 0) for the tab)."""
    if tab.targets.main is None or target.key == tab.targets.main.key:
        return (0.0, 0.0)
    parents = [t for t in [tab.targets.main, *tab.targets.oopifs()] if t is not None and t.key != target.key]
    owner = await tab.targets.owner_of(target.frame_id, parents)
    if owner is None:
        return (0.0, 0.0)
    parent = tab.targets.find(owner[0])
    if parent is None:
        return (0.0, 0.0)
    try:
        model = await parent.cdp.send("DOM.getBoxModel", {"backendNodeId": owner[1]})
    except PlaywrightError:
        return (0.0, 0.0)
    content = model["model"]["content"]
    px, py = await target_origin(ctx, tab, parent)
    return (content[0] + px, content[1] + py)


async def probe(ctx: ActContext, resolved: Resolved) -> dict[str, Any]:
    """Scroll the element into view and hit-test it (see scripts.PROBE for the answer's shape)."""
    try:
        await resolved.target.cdp.send("DOM.scrollIntoViewIfNeeded", {"objectId": resolved.object_id})
    except PlaywrightError:
        pass  # not scrollable into view (display: contents, hidden): the probe says why
    result: dict[str, Any] = await resolved.call(ctx, PROBE, {})
    if not result.get("connected"):
        raise ActionFailed(ActionError.ELEMENT_GONE, f"{resolved.element_id} was removed from the page")
    return result
