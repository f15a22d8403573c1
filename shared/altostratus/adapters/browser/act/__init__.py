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
    element = getattr(action, "element", None)
    report = await after_action(ctx, action.type, element, before, outcome, started)
    acted_on = ctx.perceiver.registry.last_seen(outcome.element or element) if element else None
    if acted_on is not None:
        report = report.model_copy(update={"target": bundle_dict(acted_on)})
    return report
