"""Watching an action's effect: the page before, settle, the page after, and the report."""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import time
from dataclasses import dataclass, field

from playwright.async_api import Error as PlaywrightError

from altostratus.adapters.browser.act.base import ActContext, ActionOutcome
from altostratus.adapters.browser.effects import EffectReport, PageChange, summarize
from altostratus.adapters.browser.perception.pagemodel import PageModel
from altostratus.adapters.browser.perception.render import element_lines, text_lines
from altostratus.adapters.browser.settle import FROM_THE_START, Mark
from altostratus.adapters.browser.tabs import Tab

_CHANGED_LINES = 8
_DOWNLOAD_WAIT_S = 10.0
# How long a click that changed nothing waits for a popup before it is reported as no effect.
_LATE_POPUP_S = 0.5


@dataclass
class PageState:
    """What the effect report compares: address, document, element lines, text, scroll."""

    url: str = ""
    title: str = ""
    document_id: str = ""
    lines: dict[str, str] = field(default_factory=dict)
    text_digest: str = ""
    scroll_y: float = 0.0
    page_height: float = 0.0

    @classmethod
    def of(cls, model: PageModel) -> PageState:
        return cls(
            url=model.url,
            title=model.title,
            document_id=model.document_id,
            lines=element_lines(model),
            text_digest=hashlib.sha256("\n".join(text_lines(model)).encode()).hexdigest(),
            scroll_y=model.scroll_y,
            page_height=model.page_height,
        )


@dataclass
class Before:
    tab_id: str
    state: PageState
    open_tabs: set[str]
    dialogs: int
    downloads: int
    since: float
    # The active tab's counters and DOM watch, for settling after the action.
    mark: Mark | None = None


async def page_state(ctx: ActContext, tab: Tab) -> PageState:
    try:
        await ctx.tabs.ready(tab)
        return PageState.of(await ctx.perceiver.model(tab.targets))
    except PlaywrightError:
        # Mid-navigation the document can vanish under the capture; the URL is still known.
        return PageState(url=tab.page.url)


async def before_action(ctx: ActContext) -> Before:
    tab = ctx.tabs.active
    state, mark = PageState(), None
    if tab is not None:
        state, mark = await asyncio.gather(page_state(ctx, tab), _mark(ctx, tab))
    return Before(
        tab_id=tab.id if tab else "",
        state=state,
        open_tabs={t.id for t in ctx.tabs.open_tabs()},
        dialogs=len(ctx.tabs.dialogs),
        downloads=ctx.downloads.marker(),
        since=time.monotonic(),
        mark=mark,
    )


async def _mark(ctx: ActContext, tab: Tab) -> Mark | None:
    try:
        return await ctx.mark(tab)
    except PlaywrightError:
        return None  # the tab is going away; settling then waits for whatever comes


def _change(before: PageState, after: PageState) -> PageChange:
    old, new = before.lines, after.lines
    added = [i for i in new if i not in old]
    removed = [i for i in old if i not in new]
    changed = [i for i in new if i in old and old[i] != new[i]]
    total = max(len(old), len(new), 1)
    shown = [("+ " if i in added else "~ ") + new[i] for i in new if i in added or i in changed][
        :_CHANGED_LINES
    ]
    return PageChange(
        added=len(added),
        removed=len(removed),
        changed=len(changed),
        ratio=round((len(added) + len(removed) + len(changed)) / total, 3),
        text_changed=before.text_digest != after.text_digest,
        lines=tuple(shown),
    )


def _unchanged(before: PageState, now: PageState) -> bool:
    return (
        now.url == before.url
        and now.document_id == before.document_id
        and now.text_digest == before.text_digest
        and not _change(before, now).any
    )


async def after_action(
    ctx: ActContext,
    action_type: str,
    element: str | None,
    before: Before,
    outcome: ActionOutcome,
    started: float,
) -> EffectReport:
    tab = ctx.tabs.active
    if tab is not None:
        with contextlib.suppress(PlaywrightError):
            # Another tab made active by the action (a switch) has nothing of it to wait for.
            await ctx.settle(tab, before.mark if tab.id == before.tab_id else None)
    # A popup's "page" event can arrive while the opener settles: look for new tabs only now.
    new_tabs = [t for t in ctx.tabs.open_tabs() if t.id not in before.open_tabs]
    # Nothing happened yet where a click landed? A popup is announced late (its tab must start
    # up first), so give it a moment before this click is called ineffective.
    after: PageState | None = None
    if not new_tabs and action_type == "click" and tab is not None and tab.id == before.tab_id:
        after = await page_state(ctx, tab)
        if _unchanged(before.state, after):
            after = None  # looked at again after the wait
            if await ctx.tabs.wait_for_new_tab(before.open_tabs, _LATE_POPUP_S):
                new_tabs = [t for t in ctx.tabs.open_tabs() if t.id not in before.open_tabs]
    if new_tabs and ctx.config.follow_new_tabs:
        after = None
        ctx.tabs.active_id = new_tabs[-1].id
        tab = ctx.tabs.active
        if tab is not None:
            with contextlib.suppress(PlaywrightError):
                await tab.page.wait_for_load_state(
                    "domcontentloaded", timeout=ctx.config.navigation_timeout_ms
                )
                # A new tab: its whole load counts, from its first request on.
                await ctx.settle(tab, FROM_THE_START)
    new_downloads = ctx.downloads.since(before.downloads)
    if new_downloads:
        await ctx.downloads.wait_idle(_DOWNLOAD_WAIT_S)
        new_downloads = ctx.downloads.since(before.downloads)
        after = None
    if after is None:
        after = await page_state(ctx, tab) if tab is not None else PageState()
    same_tab = tab is not None and tab.id == before.tab_id
    change = _change(before.state, after) if same_tab else PageChange()
    await ctx.tabs.refresh_titles()
    new_tab = new_tabs[-1].info(active=ctx.tabs.active_id == new_tabs[-1].id) if new_tabs else None
    dialogs = tuple(ctx.tabs.dialogs[before.dialogs :])
    blocked = tuple(r.reason for r in ctx.guard.refusals_since(before.since))
    url_changed = after.url != before.state.url or not same_tab
    new_document = bool(after.document_id) and after.document_id != before.state.document_id
    scrolled = outcome.scrolled_by or (after.scroll_y - before.state.scroll_y if same_tab else 0.0)
    value_changed = outcome.value is not None or outcome.checked is not None
    no_effect = not (
        url_changed
        or new_document
        or after.title != before.state.title
        or new_tabs
        or dialogs
        or new_downloads
        or change.any
        or abs(scrolled) >= 1
        or (value_changed and action_type in ("type", "select", "upload"))
        or outcome.switched_to
        or (after.page_height != before.state.page_height and same_tab)
    )
    report = EffectReport(
        action=action_type,
        element=outcome.element or element,
        ok=outcome.ok,
        error=outcome.error,
        detail=outcome.detail,
        url=after.url,
        title=after.title,
        url_changed=url_changed and bool(before.state.url),
        title_changed=after.title != before.state.title,
        new_document=new_document and bool(before.state.document_id),
        new_tab=new_tab,
        active_tab=ctx.tabs.active_id,
        dialogs=dialogs,
        downloads=tuple(new_downloads),
        value=outcome.value,
        value_matches=outcome.value_matches,
        checked=outcome.checked,
        change=change,
        scrolled_by=float(scrolled),
        blocked_requests=blocked,
        method=outcome.method,
        notes=tuple(outcome.notes),
        # A wait or a tab switch changes nothing on purpose.
        no_effect=no_effect and outcome.ok and action_type not in ("wait", "switch_tab"),
        ms=round((time.perf_counter() - started) * 1000, 1),
        url_before=before.state.url,
    )
    return report.model_copy(update={"summary": summarize(report)})
