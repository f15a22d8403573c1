"""Finding a recorded element again among the elements a page shows now.

The bundle's entries are tried strongest first; the first that matches exactly one visible,
enabled element wins. The CSS path (with its shadow hosts and frames) is structural: it only
separates several candidates of an entry, or stands alone when the element had nothing else
to go by (no test id, name, label, placeholder, name attribute, id or text). So a button whose
text was renamed is not clicked because it sits where the old one sat: the step fails and the
plan is healed, instead of silently clicking whatever took that place.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from altostratus.domain.replay.targets import SelectorBundle

# Framework-generated ids (":r3:", "ember123", "react-select-5-input") change between loads.
_PLAIN_ID = re.compile(r"^[A-Za-z][A-Za-z0-9_-]{0,63}$")
_GENERATED_ID = re.compile(r"\d{3,}|^(ember|react|mui|radix|headlessui|:r)|[-_]\d+[-_]")


def stable_id(value: str | None) -> bool:
    return bool(value) and bool(_PLAIN_ID.match(value or "")) and not _GENERATED_ID.search(value or "")


@dataclass(frozen=True)
class Candidate:
    """One element the page shows now (visible), with its bundle."""

    bundle: SelectorBundle
    enabled: bool = True


@dataclass(frozen=True)
class Match:
    index: int | None
    matched_by: str | None = None
    reason: str | None = None


def _norm(text: str | None) -> str:
    return " ".join((text or "").split()).casefold()


Entry = tuple[str, Callable[[SelectorBundle], bool]]


def entries(target: SelectorBundle) -> list[Entry]:
    """The bundle's semantic entries, strongest first (only those the bundle has)."""
    found: list[Entry] = []
    if target.test_id is not None:
        test_id = target.test_id
        found.append(("test_id", lambda c: c.test_id == test_id))
    if target.role and target.name:
        role, name = target.role, _norm(target.name)
        found.append(("role+name", lambda c: c.role == role and _norm(c.name) == name))
    if target.label:
        label = _norm(target.label)
        found.append(("label", lambda c: _norm(c.label) == label))
    if target.placeholder:
        placeholder = target.placeholder
        found.append(("placeholder", lambda c: c.placeholder == placeholder))
    if target.name_attr:
        name_attr, tag = target.name_attr, target.tag
        found.append(("name", lambda c: c.name_attr == name_attr and (tag is None or c.tag in (None, tag))))
    if stable_id(target.element_id):
        element_id = target.element_id
        found.append(("id", lambda c: c.element_id == element_id))
    if target.text:
        text = _norm(target.text)
        found.append(("text", lambda c: _norm(c.text) == text))
    return found


def _same_place(a: SelectorBundle, b: SelectorBundle) -> bool:
    return a.css is not None and a.css == b.css and a.shadow_hosts == b.shadow_hosts and a.frames == b.frames


def describe(target: SelectorBundle) -> str:
    """`button "Create account"`, `textbox labelled "Email"`, ...: the element in words."""
    role = target.role or target.tag or "element"
    if target.name:
        return f'{role} "{target.name}"'
    if target.label:
        return f'{role} labelled "{target.label}"'
    if target.placeholder:
        return f'{role} with placeholder "{target.placeholder}"'
    if target.name_attr:
        return f'{role} named "{target.name_attr}"'
    if target.test_id is not None:
        return f'{role} [{target.test_id.attribute}="{target.test_id.value}"]'
    if target.text:
        return f'{role} "{target.text}"'
    return f"{role} at {target.css}" if target.css else role


def choose(target: SelectorBundle, candidates: Sequence[Candidate]) -> Match:
    """The one candidate `target` names (see the module's rule), or why there is none."""
    if target.closed_shadow:
        return Match(None, reason=f"{describe(target)} is inside a closed shadow root")
    enabled = [i for i, c in enumerate(candidates) if c.enabled]
    semantic = entries(target)
    ambiguous: list[str] = []
    disabled_hit = False
    for name, test in semantic:
        hits = [i for i in enabled if test(candidates[i].bundle)]
        if len(hits) == 1:
            return Match(hits[0], matched_by=name)
        if len(hits) > 1:
            placed = [i for i in hits if _same_place(candidates[i].bundle, target)]
            if len(placed) == 1:
                return Match(placed[0], matched_by=f"{name}+css")
            ambiguous.append(f"{len(hits)} match its {name}")
        elif any(test(c.bundle) and not c.enabled for c in candidates):
            disabled_hit = True
    if not semantic and target.css:
        placed = [i for i in enabled if _same_place(candidates[i].bundle, target)]
        if len(placed) == 1:
            return Match(placed[0], matched_by="css")
    what = describe(target)
    if disabled_hit:
        return Match(None, reason=f"{what} is on the page but disabled")
    if ambiguous:
        return Match(None, reason=f"{what} is not unique on the page ({'; '.join(ambiguous)})")
    return Match(None, reason=f"{what} is not on the page")
