"""`AgentBrowser` over the browser layer's `BrowserSession`: its typed actions become the
model's tools, its snapshots and diffs the observations, its effect reports the tool results."""

from __future__ import annotations

import functools
import hashlib
from collections.abc import Sequence
from typing import Any

from pydantic import ValidationError

from altostratus.adapters.browser import (
    ACTION_TYPES,
    BrowserSession,
    EffectReport,
    Navigate,
    action_schema,
    parse_action,
    targets,
)
from altostratus.adapters.browser.effects import summarize
from altostratus.adapters.browser.targets import to_bundle
from altostratus.domain.enums import ActionType
from altostratus.domain.replay.targets import ObservedEffect, SelectorBundle
from altostratus.ports.browser import Download, Effect, FoundText, Located, Observation, TargetText
from altostratus.ports.computer import PixelAction, PixelEffect, PixelKeys

# How the timeline names each browser action (Skyvern's vocabulary).
ACTION_TYPE_OF = {
    "click": ActionType.CLICK,
    "type": ActionType.INPUT_TEXT,
    "select": ActionType.SELECT_OPTION,
    "check": ActionType.CHECKBOX,
    "hover": ActionType.HOVER,
    "press": ActionType.KEYPRESS,
    "scroll": ActionType.SCROLL,
    "navigate": ActionType.GOTO_URL,
    "back": ActionType.GO_BACK,
    "forward": ActionType.GO_FORWARD,
    "switch_tab": ActionType.SWITCH_TAB,
    "close_tab": ActionType.CLOSE_PAGE,
    "upload": ActionType.UPLOAD_FILE,
    "wait": ActionType.WAIT,
}
# A diff larger than this share of the page is sent as a full snapshot instead.
MAX_DIFF_RATIO = 0.4
# `upload` takes paths on the machine running the browser: offered only when a run brings files.
WITHOUT_FILES = frozenset({"upload"})


def _validation_message(exc: ValidationError) -> str:
    parts = []
    for error in exc.errors()[:5]:
        where = "/".join(str(p) for p in error["loc"] if p not in ("type",)) or "(input)"
        parts.append(f"{where}: {error['msg']}")
    return "; ".join(parts)


def effect_of(report: EffectReport, *, keys: str | None = None) -> Effect:
    summary = report.summary or summarize(report)
    return Effect(
        ok=report.ok,
        summary=summary,
        page_changed=report.page_changed,
        no_effect=report.ok and report.no_effect,
        error=None if report.ok else (report.error.value if report.error else "failed"),
        details=report.model_dump(mode="json", exclude_defaults=True, exclude={"summary", "target"}),
        target=to_bundle(report.target),
        observed=ObservedEffect(
            action=report.action,
            url_before=report.url_before or None,
            url_after=report.url or None,
            value=report.value,
            value_matches=report.value_matches,
            checked=report.checked,
            downloads=tuple(d.filename for d in report.downloads if d.state == "finished"),
            keys=keys,
        ),
    )


class SessionBrowser:
    """The agent's browser port over one `BrowserSession` (one run's incognito context)."""

    def __init__(self, session: BrowserSession, *, allow_uploads: bool = False) -> None:
        self.session = session
        self._reported: set[str] = set()
        self._tools = _tools(allow_uploads)
        self._names = frozenset(t["name"] for t in self._tools)

    def action_tools(self) -> list[dict[str, Any]]:
        return self._tools

    def action_type_of(self, tool: str) -> str:
        return ACTION_TYPE_OF.get(tool, ActionType.NULL_ACTION).value

    async def open(self, url: str) -> Effect:
        return effect_of(await self.session.act(Navigate(url=url)))

    async def observe(self, *, full: bool, whole_page: bool = False) -> Observation:
        snapshot = await self.session.snapshot(full=whole_page)
        diff = snapshot.diff
        use_diff = not full and diff is not None and diff.ratio <= MAX_DIFF_RATIO
        text = diff.text if use_diff and diff is not None else snapshot.text
        tabs = tuple(f"{t.id}{' (current)' if t.active else ''}: {t.title} {t.url}" for t in snapshot.tabs)
        fingerprint = (
            snapshot.fingerprint or hashlib.sha256(f"{snapshot.url}\n{snapshot.text}".encode()).hexdigest()
        )
        return Observation(
            url=snapshot.url,
            title=snapshot.title,
            text=text,
            is_diff=use_diff,
            fingerprint=fingerprint,
            element_count=len(snapshot.elements),
            tabs=tabs,
            full_text=snapshot.text,
        )

    async def execute(self, tool: str, params: dict[str, Any]) -> Effect:
        if tool not in self._names:
            return Effect(ok=False, summary=f"{tool} is not available.", error="invalid_action")
        try:
            action = parse_action({**params, "type": tool})
        except ValidationError as exc:
            message = _validation_message(exc)
            return Effect(ok=False, summary=f"Invalid {tool}: {message}.", error="invalid_action")
        return effect_of(await self.session.act(action))

    def viewport(self) -> tuple[int, int]:
        return self.session.viewport()

    async def pixels(self, action: PixelAction) -> PixelEffect:
        report, _hit = await self.session.act_pixels(action)
        keys = "+".join(action.keys) if isinstance(action, PixelKeys) else None
        effect = effect_of(report, keys=keys)
        return PixelEffect(effect=effect, hit=report.element, target=effect.target)

    async def location(self) -> tuple[str, str]:
        return await self.session.location()

    async def screenshot(self, *, scrolls: int = 0) -> bytes:
        if scrolls <= 0:
            return await self.session.screenshot()
        return await self.session.screenshot(full_page=True, max_scrolls=scrolls)

    async def markdown(self) -> str:
        page = await self.session.markdown()
        return page.text

    async def html(self) -> str:
        return await self.session.html()

    async def locate(self, target: SelectorBundle) -> Located:
        return await targets.locate(self.session, target)

    async def read_target(self, target: SelectorBundle) -> TargetText:
        return await targets.read_target(self.session, target)

    async def find_text(self, values: Sequence[str]) -> list[FoundText | None]:
        return await targets.find_text(self.session, values)

    async def new_downloads(self) -> list[Download]:
        fresh = []
        for info in self.session.downloads:
            # A second download of the same file is reported by the browser as a duplicate.
            if info.id in self._reported or info.duplicate_of or not info.path:
                continue
            self._reported.add(info.id)
            fresh.append(
                Download(
                    filename=info.filename, path=info.path, size=info.size or 0, sha256=info.sha256 or ""
                )
            )
        return fresh


@functools.cache
def _tools(allow_uploads: bool) -> list[dict[str, Any]]:
    """Tool definitions of the browser's actions (built once: pydantic schemas are slow to make)."""
    names = [n for n in ACTION_TYPES if allow_uploads or n not in WITHOUT_FILES]
    return [
        {
            "name": name,
            "description": _first_paragraph(ACTION_TYPES[name].__doc__ or name),
            "input_schema": _clean(action_schema(name)),
        }
        for name in names
    ]


def _first_paragraph(text: str) -> str:
    return text.strip().split("\n\n")[0].replace("\n", " ")


def _clean(node: Any) -> Any:
    """Drop pydantic's `title` strings (noise for the model), keeping properties named title."""
    if isinstance(node, dict):
        return {k: _clean(v) for k, v in node.items() if not (k == "title" and isinstance(v, str))}
    if isinstance(node, list):
        return [_clean(v) for v in node]
    return node
