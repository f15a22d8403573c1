"""Click and hover, with the fallback ladder that makes a click land or say why not.

Ladder: re-resolve the id → scroll into view → wait until the box is still → hit-test the
centre and click there with the mouse → if something else is on top, find it: close its
overlay (a close/reject/accept button, then Escape) or click a part of the element it does not
cover → with no box to hit-test, click at the element's coordinates → a DOM click last. A mouse
click that landed is never repeated by a later rung: a click that did nothing is reported as
having no visible effect, not retried (a second click could submit twice).
"""

from __future__ import annotations

from typing import Any

from playwright.async_api import Error as PlaywrightError

from altostratus.adapters.browser.act.base import ActContext, ActionFailed, ActionOutcome
from altostratus.adapters.browser.act.resolve import Resolved, frame_origin, probe, resolve
from altostratus.adapters.browser.actions import Click, Hover
from altostratus.adapters.browser.effects import ActionError
from altostratus.adapters.browser.isolated import ScriptError
from altostratus.adapters.browser.scripts import DOM_CLICK

_MAX_CLOSE_ATTEMPTS = 2


def _describe(info: dict[str, Any] | None) -> str:
    if not info:
        return "another element"
    text = f"<{info.get('tag') or 'element'}"
    if info.get("id"):
        text += f" id={info['id']}"
    if info.get("role"):
        text += f" role={info['role']}"
    text += ">"
    if info.get("text"):
        text += f" {info['text'][:50]!r}"
    return text


async def _mouse(
    resolved: Resolved, origin: tuple[float, float], point: dict[str, float], action: Click
) -> None:
    x, y = point["x"] + origin[0], point["y"] + origin[1]
    page = resolved.tab.page
    if action.double:
        await page.mouse.dblclick(x, y, button=action.button)
    else:
        await page.mouse.click(x, y, button=action.button)


_SHORT_SETTLE_MS = 1_000


async def click(ctx: ActContext, action: Click) -> ActionOutcome:
    resolved = await resolve(ctx, action.element)
    notes = [resolved.note] if resolved.note else []
    element = resolved.element_id
    try:
        state = await probe(ctx, resolved)
    except ScriptError:
        return await _coordinate_click(ctx, resolved, action, notes)
    if state.get("disabled"):
        raise ActionFailed(ActionError.DISABLED, f"{element} is disabled; it does not respond to clicks")
    origin = await frame_origin(ctx, resolved)
    if not state.get("visible") or origin is None:
        return await _dom_click(resolved, ctx, notes, "it has no visible box")
    if not state.get("in_view"):
        return await _coordinate_click(ctx, resolved, action, notes)
    if state.get("point"):
        await _mouse(resolved, origin, state["point"], action)
        method = "mouse on its label" if state.get("via_label") else "mouse"
        return ActionOutcome(method=method, notes=notes, element=_changed(resolved, action.element))
    blocker = _describe(state.get("blocker"))
    overlay = _describe(state.get("overlay")) if state.get("overlay") else blocker
    notes.append(f"{element} was covered by {blocker}.")
    for closer in (state.get("closers") or [])[:_MAX_CLOSE_ATTEMPTS]:
        mark = await ctx.mark(resolved.tab)
        await resolved.tab.page.mouse.click(closer["x"] + origin[0], closer["y"] + origin[1])
        await ctx.settle(resolved.tab, mark, cap_ms=_SHORT_SETTLE_MS)
        state = await probe(ctx, resolved)
        origin = await frame_origin(ctx, resolved) or origin
        if state.get("point"):
            await _mouse(resolved, origin, state["point"], action)
            notes.append(f"Closed {overlay} with its {closer['text']!r} control first.")
            return ActionOutcome(
                method="mouse after closing the overlay",
                notes=notes,
                element=_changed(resolved, action.element),
            )
    if not state.get("point"):
        mark = await ctx.mark(resolved.tab)
        await resolved.tab.page.keyboard.press("Escape")
        await ctx.settle(resolved.tab, mark, cap_ms=_SHORT_SETTLE_MS)
        state = await probe(ctx, resolved)
        origin = await frame_origin(ctx, resolved) or origin
        if state.get("point"):
            await _mouse(resolved, origin, state["point"], action)
            notes.append(f"Pressed Escape to close {overlay} first.")
            return ActionOutcome(
                method="mouse after Escape", notes=notes, element=_changed(resolved, action.element)
            )
    if state.get("around"):
        await _mouse(resolved, origin, state["around"], action)
        notes.append("Clicked the part of it that is not covered.")
        return ActionOutcome(
            method="mouse beside the blocker", notes=notes, element=_changed(resolved, action.element)
        )
    return await _dom_click(resolved, ctx, notes, f"it stays covered by {blocker}")


def _changed(resolved: Resolved, asked: str) -> str | None:
    return resolved.element_id if resolved.element_id != asked else None


async def _coordinate_click(
    ctx: ActContext, resolved: Resolved, action: Click, notes: list[str]
) -> ActionOutcome:
    origin = await frame_origin(ctx, resolved)
    try:
        quads = await resolved.target.cdp.send("DOM.getContentQuads", {"objectId": resolved.object_id})
    except PlaywrightError:
        quads = {}
    if not quads.get("quads") or origin is None:
        return await _dom_click(resolved, ctx, notes, "it has no box on screen")
    quad = quads["quads"][0]
    x = sum(quad[0::2]) / 4
    y = sum(quad[1::2]) / 4
    from altostratus.adapters.browser.act.resolve import target_origin

    ox, oy = await target_origin(ctx, resolved.tab, resolved.target)
    await _mouse(resolved, (ox, oy), {"x": x, "y": y}, action)
    return ActionOutcome(method="coordinates", notes=notes, element=_changed(resolved, resolved.element_id))


async def _dom_click(resolved: Resolved, ctx: ActContext, notes: list[str], why: str) -> ActionOutcome:
    await resolved.call(ctx, DOM_CLICK)
    notes.append(f"Clicked through the DOM because {why}.")
    return ActionOutcome(method="dom", notes=notes)


async def hover(ctx: ActContext, action: Hover) -> ActionOutcome:
    resolved = await resolve(ctx, action.element)
    state = await probe(ctx, resolved)
    origin = await frame_origin(ctx, resolved)
    if not state.get("visible") or origin is None:
        raise ActionFailed(
            ActionError.NOT_VISIBLE, f"{resolved.element_id} is not visible, so it cannot be hovered"
        )
    point = state.get("point") or state.get("around")
    if point is None:
        raise ActionFailed(
            ActionError.INTERCEPTED, f"{resolved.element_id} is covered by {_describe(state.get('blocker'))}"
        )
    await resolved.tab.page.mouse.move(point["x"] + origin[0], point["y"] + origin[1])
    return ActionOutcome(method="mouse", notes=[resolved.note] if resolved.note else [])
