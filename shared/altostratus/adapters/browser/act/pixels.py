"""Actions at screen coordinates (viewport CSS pixels), for models that see only screenshots.

Each action runs inside the same before/after observation as the element actions, so it
returns an `EffectReport` (page changed, no visible effect, new tab, dialog, download). A
pointer action first hit-tests its point (descending into open shadow roots and same-origin
frames), so the report says which element it landed on.

The actions themselves (`ports.computer`) are not in `ACTION_TYPES` (the DOM engine's tool
list): only screenshot-driven engines use them, through `BrowserSession.act_pixels`.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from typing import Any

from playwright.async_api import Error as PlaywrightError
from playwright.async_api import TimeoutError as PlaywrightTimeoutError

from altostratus.adapters.browser.act.base import ActContext, ActionOutcome
from altostratus.adapters.browser.act.observe import after_action, before_action
from altostratus.adapters.browser.effects import ActionError, EffectReport
from altostratus.adapters.browser.scripts import FOCUSED_BUNDLE, with_bundle
from altostratus.ports.computer import (
    PixelClick,
    PixelDrag,
    PixelKeys,
    PixelMouseButton,
    PixelMove,
    PixelScroll,
    PixelType,
    PixelWait,
)

# Typing in chunks with a small delay, so pages that react per keystroke keep up.
TYPE_CHUNK = 50
TYPE_DELAY_MS = 12

# The element at a point, through open shadow roots and same-origin frames.
HIT_TEST = with_bundle("""(x, y) => {
  //@bundle
  let doc = document, el = null, ox = 0, oy = 0;
  for (let depth = 0; depth < 8; depth++) {
    el = doc.elementFromPoint(x - ox, y - oy);
    while (el && el.shadowRoot) {
      const inner = el.shadowRoot.elementFromPoint(x - ox, y - oy);
      if (!inner || inner === el) break;
      el = inner;
    }
    if (el && (el.tagName === 'IFRAME' || el.tagName === 'FRAME')) {
      let sub = null;
      try { sub = el.contentDocument; } catch (e) { sub = null; }
      if (!sub) break;
      const r = el.getBoundingClientRect();
      ox += r.left + el.clientLeft; oy += r.top + el.clientTop; doc = sub; continue;
    }
    break;
  }
  if (!el) return null;
  const label = el.closest('a,button,label,[role],input,select,textarea,summary') || el;
  const text = (label.getAttribute('aria-label') || label.innerText || label.value ||
                el.getAttribute('alt') ||
                el.getAttribute('placeholder') || '').trim().replace(/\\s+/g, ' ').slice(0, 60);
  return {tag: el.tagName.toLowerCase(), id: el.id || null, role: label.getAttribute('role') || null,
          name: el.getAttribute('name') || null, type: el.getAttribute('type') || null,
          target: el.closest('[data-cua]')?.getAttribute('data-cua') || null, text,
          bundle: __bundleOf(__operated(el))};
}""")

# Typing a secret: every element a keystroke goes to is masked, from before its first character
# to after the last, also when the page moves the focus on while typing (a box per digit).
MASK_WHILE_TYPING = """() => {
  const mask = el => { if (el && el.style && el.type !== 'password')
    el.style.setProperty('-webkit-text-security', 'disc'); };
  const hide = event => mask(event.composedPath()[0]);
  document.addEventListener('keydown', hide, true);
  document.addEventListener('input', hide, true);
  window.__altoMaskTyping = hide;
  mask(document.activeElement);
}"""
STOP_MASKING = """() => {
  const hide = window.__altoMaskTyping;
  if (hide) {
    document.removeEventListener('keydown', hide, true);
    document.removeEventListener('input', hide, true);
    delete window.__altoMaskTyping;
  }
  const el = document.activeElement;
  if (el && el.style && el.type !== 'password') el.style.setProperty('-webkit-text-security', 'disc');
}"""


async def focused_bundle(ctx: ActContext) -> dict[str, Any] | None:
    """The selector bundle of the focused element (where typing goes), or None."""
    main = ctx.tab.targets.main
    if main is None:
        return None
    try:
        found = await ctx.worlds.evaluate(main, main.frame_id, FOCUSED_BUNDLE)
    except Exception:  # a page mid-navigation: the typing still runs, unrecorded
        return None
    return found if isinstance(found, dict) else None


def describe_hit(hit: dict[str, Any] | None) -> str | None:
    """`<button id=go> 'Sign in'`: what a point landed on, for the model and the timeline."""
    if not hit:
        return None
    text = f"<{hit.get('tag') or 'element'}"
    for key in ("id", "name", "type", "role"):
        if hit.get(key):
            text += f" {key}={hit[key]}"
    text += ">"
    if hit.get("text"):
        text += f" {hit['text']!r}"
    return text


async def hit_test(ctx: ActContext, x: float, y: float) -> dict[str, Any] | None:
    tab = ctx.tab
    main = tab.targets.main
    if main is None:
        return None
    try:
        found = await ctx.worlds.evaluate(main, main.frame_id, HIT_TEST, x, y)
    except Exception:  # a page mid-navigation has no document to test: the action still runs
        return None
    return found if isinstance(found, dict) else None


def _point_of(action: Any) -> tuple[float, float] | None:
    if isinstance(action, PixelClick | PixelMove | PixelScroll):
        return action.x, action.y
    if isinstance(action, PixelDrag):
        return action.path[0].x, action.path[0].y
    return None


async def _in_viewport(ctx: ActContext, x: float, y: float) -> bool:
    size = ctx.tab.page.viewport_size
    return size is None or (x < size["width"] and y < size["height"])


async def _held(ctx: ActContext, modifiers: tuple[str, ...], down: bool) -> None:
    keyboard = ctx.tab.page.keyboard
    for key in modifiers if down else reversed(modifiers):
        await (keyboard.down(key) if down else keyboard.up(key))


async def _run(ctx: ActContext, action: Any) -> ActionOutcome:
    page = ctx.tab.page
    mouse, keyboard = page.mouse, page.keyboard
    modifiers: tuple[str, ...] = getattr(action, "modifiers", ())
    await _held(ctx, modifiers, True)
    try:
        if isinstance(action, PixelClick):
            await mouse.move(action.x, action.y)
            await mouse.click(action.x, action.y, button=action.button, click_count=action.count)
        elif isinstance(action, PixelMove):
            await mouse.move(action.x, action.y, steps=4)
        elif isinstance(action, PixelDrag):
            first = action.path[0]
            await mouse.move(first.x, first.y)
            await mouse.down()
            for point in action.path[1:]:
                await mouse.move(point.x, point.y, steps=8)
            await mouse.up()
        elif isinstance(action, PixelScroll):
            await mouse.move(action.x, action.y)
            await mouse.wheel(action.dx, action.dy)
        elif isinstance(action, PixelType):
            main = ctx.tab.targets.main if action.mask else None
            if main is not None:
                await ctx.worlds.evaluate(main, main.frame_id, MASK_WHILE_TYPING)
            try:
                for start in range(0, len(action.text), TYPE_CHUNK):
                    await keyboard.type(action.text[start : start + TYPE_CHUNK], delay=TYPE_DELAY_MS)
            finally:
                if main is not None:
                    await ctx.worlds.evaluate(main, main.frame_id, STOP_MASKING)
        elif isinstance(action, PixelKeys):
            chord = "+".join(action.keys)
            for _ in range(action.repeat):
                if action.hold_s:
                    for key in action.keys:
                        await keyboard.down(key)
                    await asyncio.sleep(action.hold_s)
                    for key in reversed(action.keys):
                        await keyboard.up(key)
                else:
                    await keyboard.press(chord)
        elif isinstance(action, PixelMouseButton):
            await (
                mouse.down(button=action.button)
                if action.direction == "down"
                else mouse.up(button=action.button)
            )
        elif isinstance(action, PixelWait):
            await asyncio.sleep(action.seconds)
    finally:
        await _held(ctx, modifiers, False)
    return ActionOutcome(ok=True, method="mouse" if _point_of(action) else "keyboard")


# How the effect report names each pixel action (a click keeps "click": a late popup is awaited).
REPORT_NAMES = {
    "click": "click",
    "move": "hover",
    "drag": "drag",
    "scroll": "scroll",
    "type": "type_at_focus",
    "keys": "press",
    "mouse_button": "mouse_button",
    "wait": "wait",
}


async def execute_pixels(
    ctx: ActContext, action: Any, *, on_browser_error: Callable[[], None]
) -> tuple[EffectReport, dict[str, Any] | None]:
    """Run one pixel action; its effect report and what its point hit (None without a point)."""
    started = time.perf_counter()
    point = _point_of(action)
    hit = None
    if point is not None:
        if not await _in_viewport(ctx, *point):
            before = await before_action(ctx)
            outcome = ActionOutcome(
                ok=False,
                error=ActionError.INVALID_ACTION,
                detail=f"({point[0]:.0f}, {point[1]:.0f}) is off screen",
            )
            report = await after_action(ctx, REPORT_NAMES[action.kind], None, before, outcome, started)
            return report, None
        hit = await hit_test(ctx, *point)
    target = hit.get("bundle") if hit else None
    if isinstance(action, PixelType):
        target = await focused_bundle(ctx)
    before = await before_action(ctx)
    try:
        outcome = await _run(ctx, action)
    except PlaywrightTimeoutError as exc:
        on_browser_error()
        outcome = ActionOutcome(ok=False, error=ActionError.TIMEOUT, detail=exc.message.splitlines()[0])
    except PlaywrightError as exc:
        on_browser_error()
        outcome = ActionOutcome(
            ok=False, error=ActionError.BROWSER_ERROR, detail=exc.message.splitlines()[0][:300]
        )
    described = describe_hit(hit)
    report = await after_action(ctx, REPORT_NAMES[action.kind], described, before, outcome, started)
    if target:
        report = report.model_copy(update={"target": target})
    return report, hit
