"""Fuzzy matching of an option the agent asked for against the options a page offers."""

from __future__ import annotations

import difflib
import re
import unicodedata
from collections.abc import Sequence

_SPACES = re.compile(r"\s+")
_PUNCT = re.compile(r"[^\w\s]")
_MIN_RATIO = 0.72


def normalize(text: str) -> str:
    folded = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode() or text
    return _SPACES.sub(" ", _PUNCT.sub(" ", folded.casefold())).strip()


def best_option(wanted: str, options: Sequence[tuple[str, str]]) -> int | None:
    """Index of the option (label, value) that best matches `wanted`, or None if none is close.

    Order of preference: exact label, exact value, same after normalising case, accents and
    punctuation, label starting with it, label containing it (shortest first), then a
    similarity ratio of at least 0.72.
    """
    if not options:
        return None
    for index, (label, _value) in enumerate(options):
        if label.strip() == wanted.strip():
            return index
    for index, (_label, value) in enumerate(options):
        if value == wanted:
            return index
    target = normalize(wanted)
    if not target:
        return None
    labels = [normalize(label) for label, _ in options]
    for index, label in enumerate(labels):
        if label == target or normalize(options[index][1]) == target:
            return index
    starts = [i for i, label in enumerate(labels) if label.startswith(target)]
    if starts:
        return min(starts, key=lambda i: len(labels[i]))
    contains = [i for i, label in enumerate(labels) if target in label]
    if contains:
        return min(contains, key=lambda i: len(labels[i]))
    scored = [(difflib.SequenceMatcher(None, target, label).ratio(), i) for i, label in enumerate(labels)]
    ratio, index = max(scored)
    return index if ratio >= _MIN_RATIO else None
