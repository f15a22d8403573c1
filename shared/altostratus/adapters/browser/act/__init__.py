"""Executing actions: one handler per action type, wrapped in before/after observation."""

from __future__ import annotations

import time
from collections.abc import Awaitable, Callable
from typing import Any

from playwright.async_api import Error as PlaywrightError
from playwright.async_api import TimeoutError as PlaywrightTimeoutError

from altostratus.adapters.browser.act import forms, page, pointer
from altostratus.adapters.browser.act.base import ActContext, ActionFailed, ActionOutcome
from altostratus.adapters.browser.act.observe import after_action, before_action
from altostratus.adapters.browser.actions import (
    Action,
    Back,
    Check,
    Click,
    CloseTab,
    Forward,
    Hover,
    Navigate,
    Press,
    Scroll,
    Select,
    SwitchTab,
    TypeText,
    Upload,
    Wait,
)
from altostratus.adapters.browser.effects import ActionError, EffectReport
from altostratus.adapters.browser.perception.selectors import bundle_dict

Handler = Callable[[ActContext, Any], Awaitable[ActionOutcome]]
HANDLERS: dict[type, Handler] = {
    Click: pointer.click,
    Hover: pointer.hover,
    TypeText: forms.type_text,
    Select: forms.select,
    Check: forms.check,
    Upload: forms.upload,
    Navigate: page.navigate,
    Back: page.history,
    Forward: page.history,
    Scroll: page.scroll,
    Press: page.press,
    Wait: page.wait,
    SwitchTab: page.switch_tab,
    CloseTab: page.close_tab,
}

__all__ = ["ActContext", "execute"]


async def execute(ctx: ActContext, action: Action, *, on_browser_error: Callable[[], None]) -> EffectReport:
    """Run one action and report its effect; `on_browser_error` raises if the browser is gone."""
    started = time.perf_counter()
    element = getattr(action, "element", None)
    # The bundle is built now: an action that navigates leaves the old page's ids behind.
    asked = ctx.perceiver.registry.last_seen(element) if element else None
    target = bundle_dict(asked) if asked is not None else None
    before = await before_action(ctx)
    handler = HANDLERS[type(action)]
    try:
        outcome = await handler(ctx, action)
    except ActionFailed as failed:
        outcome = failed.outcome
    except PlaywrightTimeoutError as exc:
        on_browser_error()
        outcome = ActionOutcome(ok=False, error=ActionError.TIMEOUT, detail=exc.message.splitlines()[0])
    except PlaywrightError as exc:
        on_browser_error()
        outcome = ActionOutcome(
            ok=False, error=ActionError.BROWSER_ERROR, detail=exc.message.splitlines()[0][:300]
        )
    if outcome.element and outcome.element != element:
        # Acted on a re-rendered replacement: that is the element to find again.
        replacement = ctx.perceiver.registry.last_seen(outcome.element)
        target = bundle_dict(replacement) if replacement is not None else target
    report = await after_action(ctx, action.type, element, before, outcome, started)
    return report.model_copy(update={"target": target}) if target else report
