"""Finding recorded elements again, for a replay: by the page's current elements (actions), or
by selectors run in the page (readings, and values looked for in the page's text).

Operable elements are matched against the snapshot's own bundles (`domain.replay.matching`),
so an element recorded by perception is found by the same fields it was recorded with; the
snapshot lists only rendered elements, so every candidate is visible.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from playwright.async_api import Error as PlaywrightError
from pydantic import ValidationError

from altostratus.adapters.browser.isolated import ScriptError
from altostratus.adapters.browser.perception.selectors import bundle_dict
from altostratus.adapters.browser.scripts import FIND_VALUES, READ_TARGET
from altostratus.domain.replay.matching import Candidate, choose
from altostratus.domain.replay.targets import SelectorBundle
from altostratus.ports.browser import FoundText, Located, TargetText

if TYPE_CHECKING:
    from altostratus.adapters.browser.session import BrowserSession

_DISABLED = frozenset({"disabled", "readonly"})


def to_bundle(raw: dict[str, Any] | None) -> SelectorBundle | None:
    """A bundle computed in the page or by perception, as the domain's model (None if empty)."""
    if not raw:
        return None
    try:
        bundle = SelectorBundle.model_validate(raw)
    except ValidationError:
        return None
    return None if bundle.empty else bundle


async def locate(session: BrowserSession, target: SelectorBundle) -> Located:
    snapshot = await session.snapshot(full=True)
    elements = snapshot.elements
    candidates = []
    for element in elements:
        bundle = to_bundle(bundle_dict(element)) or SelectorBundle()
        # Perception says "clickable" for elements without a role; the bundle leaves it out.
        candidates.append(Candidate(bundle=bundle, enabled=not (_DISABLED & set(element.states))))
    match = choose(target, candidates)
    if match.index is None:
        return Located(reason=match.reason)
    return Located(element_id=elements[match.index].id, matched_by=match.matched_by)


async def read_target(session: BrowserSession, target: SelectorBundle) -> TargetText:
    try:
        found = await session.evaluate(READ_TARGET, target.model_dump(mode="json"))
    except (PlaywrightError, ScriptError) as exc:
        return TargetText(reason=f"the page could not be read ({str(exc)[:120]})")
    if not isinstance(found, dict):
        return TargetText(reason="the page could not be read")
    return TargetText(
        text=found.get("text"),
        value=found.get("value"),
        matched_by=found.get("matched_by"),
        reason=found.get("reason"),
    )


async def find_text(session: BrowserSession, values: Sequence[str]) -> list[FoundText | None]:
    if not values:
        return []
    try:
        found = await session.evaluate(FIND_VALUES, list(values))
    except (PlaywrightError, ScriptError):
        return [None for _ in values]
    results: list[FoundText | None] = []
    for item in found if isinstance(found, list) else []:
        bundle = to_bundle(item.get("bundle")) if isinstance(item, dict) else None
        text = item.get("text") if isinstance(item, dict) else None
        results.append(FoundText(target=bundle, text=text) if bundle and isinstance(text, str) else None)
    return results + [None] * (len(values) - len(results))
