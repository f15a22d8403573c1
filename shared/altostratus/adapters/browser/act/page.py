"""Page-level actions: navigate (address policy first), history, scroll, keys, waits, tabs."""

from __future__ import annotations

import asyncio
import contextlib
import re
import time
from typing import Any

from playwright.async_api import Error as PlaywrightError

from altostratus.adapters.browser.act.base import ActContext, ActionFailed, ActionOutcome
from altostratus.adapters.browser.act.resolve import resolve
from altostratus.adapters.browser.actions import (
    Back,
    CloseTab,
    Forward,
    Navigate,
    Press,
    Scroll,
    SwitchTab,
    Wait,
)
from altostratus.adapters.browser.effects import ActionError
from altostratus.adapters.browser.isolated import ScriptError
from altostratus.adapters.browser.scripts import FIND_TEXT, SCROLL, WAIT_VISIBLE

_BARE_HOST = re.compile(r"^(?![a-z][a-z0-9+.-]*:(?!\d))[a-z0-9-]+(\.[a-z0-9-]+)+(:\d+)?(/|$)", re.IGNORECASE)
_DIRECTIONS = {"down": (0, 1), "up": (0, -1), "right": (1, 0), "left": (-1, 0)}


def _navigation_error(ctx: ActContext, url: str, exc: PlaywrightError, started: float) -> ActionFailed | None:
    """None when the 'error' is a download starting; else the failure, with the guard's reason."""
    message = exc.message
    if "Download is starting" in message:
        return None
    blocked = "ERR_BLOCKED_BY_CLIENT" in message
    # A tunnel (https) the connect-time proxy refused or could not open: Chromium only says
    # the tunnel failed; the proxy said why.
    tunnel = "ERR_TUNNEL_CONNECTION_FAILED" in message
    refusals = ctx.guard.refusals_since(started) if blocked or tunnel else []
    if blocked or refusals:
        reason = refusals[-1].reason if refusals else "the address policy refused it"
        where = refusals[-1].url if refusals else url
        return ActionFailed(ActionError.NAVIGATION_REFUSED, f"{where} was refused: {reason}")
    failures = ctx.guard.proxy_failures_since(started) if tunnel else []
    if failures:
        return ActionFailed(ActionError.NAVIGATION_FAILED, f"could not open {url}: {failures[-1].reason}")
    first_line = message.splitlines()[0] if message else "unknown error"
    return ActionFailed(ActionError.NAVIGATION_FAILED, f"could not open {url}: {first_line}")


async def navigate(ctx: ActContext, action: Navigate) -> ActionOutcome:
    url = action.url.strip()
    notes = []
    if _BARE_HOST.match(url):
        # "example.com/path": what a person types in the address bar means https.
        url = "https://" + url
        notes.append(f"Read {action.url!r} as {url}.")
    reason = await ctx.guard.refusal_for(url)
    if reason is not None:
        raise ActionFailed(ActionError.NAVIGATION_REFUSED, f"{url} is refused: {reason}")
    tab = ctx.tab
    started = time.monotonic()
    try:
        response = await tab.page.goto(
            url, wait_until="domcontentloaded", timeout=ctx.config.navigation_timeout_ms
        )
    except PlaywrightError as exc:
        failure = _navigation_error(ctx, url, exc, started)
        if failure is not None:
            raise failure from exc
        return ActionOutcome(
            method="download", notes=[*notes, "The address is a file: it was downloaded, not opened."]
        )
    if response is not None and response.status >= 400:
        notes.append(f"The server answered HTTP {response.status}.")
    return ActionOutcome(notes=notes)


async def history(ctx: ActContext, action: Back | Forward) -> ActionOutcome:
    tab = ctx.tab
    started = time.monotonic()
    go = tab.page.go_back if isinstance(action, Back) else tab.page.go_forward
    url_before = tab.page.url
    try:
        response = await go(wait_until="domcontentloaded", timeout=ctx.config.navigation_timeout_ms)
    except PlaywrightError as exc:
        failure = _navigation_error(ctx, tab.page.url, exc, started)
        if failure is not None:
            raise failure from exc
        return ActionOutcome(method="download")
    if response is None and tab.page.url == url_before:
        raise ActionFailed(ActionError.NO_HISTORY, f"there is no page to go {action.type} to")
    return ActionOutcome()


async def scroll(ctx: ActContext, action: Scroll) -> ActionOutcome:
    dx, dy = _DIRECTIONS[action.direction]
    if action.element is not None:
        resolved = await resolve(ctx, action.element)
        result: dict[str, Any] = await resolved.call(ctx, SCROLL, dx, dy, action.amount)
    else:
        tab = ctx.tab
        await ctx.tabs.ready(tab)
        main = tab.targets.main
        if main is None:
            raise ActionFailed(ActionError.TAB_NOT_FOUND, "the tab is not ready")
        try:
            result = await ctx.worlds.evaluate(main, main.frame_id, SCROLL, dx, dy, action.amount)
        except (PlaywrightError, ScriptError) as exc:
            raise ActionFailed(ActionError.TIMEOUT, f"could not scroll: {exc}") from exc
    before, after = result["before"], result["after"]
    moved = (after["y"] - before["y"]) if dy else (after["x"] - before["x"])
    what = "the page" if result.get("page") else "the element"
    notes = []
    if result.get("container"):
        what = f"the scrollable area {result['container']!r}"
        notes.append(f"The page itself does not scroll; scrolled {what} instead.")
    if not moved:
        edge = {"down": "bottom", "up": "top", "right": "right edge", "left": "left edge"}[action.direction]
        notes.append(f"{what.capitalize()} is already at its {edge}.")
    return ActionOutcome(scrolled_by=float(moved), notes=notes)


async def press(ctx: ActContext, action: Press) -> ActionOutcome:
    tab = ctx.tab
    if action.element is not None:
        resolved = await resolve(ctx, action.element)
        tab = resolved.tab
        await resolved.call(ctx, "function() { this.focus({preventScroll: false}); return true; }")
    for _ in range(action.repeat):
        try:
            await tab.page.keyboard.press(action.keys)
        except PlaywrightError as exc:
            raise ActionFailed(
                ActionError.INVALID_ACTION, f"unknown key {action.keys!r}: {exc.message}"
            ) from exc
    return ActionOutcome()


async def wait(ctx: ActContext, action: Wait) -> ActionOutcome:
    timeout = action.timeout_ms
    if action.network_quiet:
        tab = ctx.tab
        deadline = asyncio.get_running_loop().time() + timeout / 1000
        quiet = await tab.network.wait_quiet(ctx.config.settle_quiet_ms / 1000, deadline)
        if not quiet:
            raise ActionFailed(ActionError.TIMEOUT, f"the network was still busy after {timeout} ms")
        return ActionOutcome()
    if action.element is not None:
        try:
            resolved = await resolve(ctx, action.element)
        except ActionFailed:
            if action.state == "hidden":
                return ActionOutcome(notes=[f"{action.element} is gone."])
            raise
        try:
            done = await resolved.call(ctx, WAIT_VISIBLE, action.state, timeout)
        except ActionFailed:
            done = action.state == "hidden"
        if not done:
            raise ActionFailed(
                ActionError.TIMEOUT, f"{action.element} did not become {action.state} in {timeout} ms"
            )
        return ActionOutcome()
    return await _wait_text(ctx, action.text or "", action.state, timeout)


async def _wait_text(ctx: ActContext, text: str, state: str, timeout: int) -> ActionOutcome:
    tab = ctx.tab
    await tab.targets.refresh()
    targets = [t for t in [tab.targets.main, *tab.targets.oopifs()] if t is not None]
    # Same-process frames are searched through their own documents too.
    frames: list[tuple[Any, str]] = []
    for target in targets:
        try:
            tree = await target.cdp.send("Page.getFrameTree")
        except PlaywrightError:
            continue
        stack = [tree["frameTree"]]
        while stack:
            node = stack.pop()
            frames.append((target, node["frame"]["id"]))
            stack.extend(node.get("childFrames") or [])

    async def look(target: Any, frame_id: str) -> bool:
        with contextlib.suppress(PlaywrightError, ScriptError):
            return bool(await ctx.worlds.evaluate(target, frame_id, FIND_TEXT, text, state, timeout))
        return False

    tasks = [asyncio.ensure_future(look(t, f)) for t, f in frames]
    found = False
    try:
        if state == "visible":
            for next_done in asyncio.as_completed(tasks):
                if await next_done:
                    found = True
                    break
        else:
            found = all(await asyncio.gather(*tasks))
    finally:
        for task in tasks:
            task.cancel()
    if not found:
        what = "appear" if state == "visible" else "disappear"
        raise ActionFailed(ActionError.TIMEOUT, f"the text {text!r} did not {what} within {timeout} ms")
    return ActionOutcome()


async def switch_tab(ctx: ActContext, action: SwitchTab) -> ActionOutcome:
    tab = ctx.tabs.get(action.tab)
    if tab is None:
        open_ids = ", ".join(t.id for t in ctx.tabs.open_tabs())
        raise ActionFailed(ActionError.TAB_NOT_FOUND, f"no open tab {action.tab} (open: {open_ids})")
    ctx.tabs.active_id = tab.id
    with contextlib.suppress(PlaywrightError):
        await tab.page.bring_to_front()
    return ActionOutcome(switched_to=tab.id)


async def close_tab(ctx: ActContext, action: CloseTab) -> ActionOutcome:
    tab = ctx.tabs.get(action.tab) if action.tab else ctx.tabs.active
    if tab is None:
        raise ActionFailed(ActionError.TAB_NOT_FOUND, f"no open tab {action.tab}")
    if len(ctx.tabs.open_tabs()) == 1:
        raise ActionFailed(ActionError.INVALID_ACTION, "this is the only tab; it stays open")
    await tab.targets.close()
    with contextlib.suppress(PlaywrightError):
        await tab.page.close()
    ctx.tabs._on_close(tab)
    return ActionOutcome(notes=[f"Closed tab {tab.id}."], switched_to=ctx.tabs.active_id)
