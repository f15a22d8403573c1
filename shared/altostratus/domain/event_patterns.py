"""EventBridge event patterns, the subset this project uses, matched in process.

The embedded bus routes with the same patterns template.yaml gives EventBridge rules, so one
pattern (e.g. `TERMINAL_WITH_WEBHOOK`) decides delivery in both runtimes. Supported: nested
objects, lists of literal alternatives (strings, numbers, booleans, null), and the `prefix`,
`exists` and `anything-but` operators. A list value in the event matches when any element does.

Examples
--------
>>> matches({"source": ["altostratus"], "detail": {"run": {"status": ["failed"]}}},
...         {"source": "altostratus", "detail": {"run": {"status": "failed"}}})
True
>>> matches({"detail": {"x": [{"exists": False}]}}, {"detail": {}})
True
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

_MISSING = object()
_OPERATORS = frozenset({"prefix", "exists", "anything-but"})


def check_pattern(pattern: Mapping[str, Any]) -> None:
    """Raise ValueError when the pattern uses something this matcher does not implement."""
    for key, rule in pattern.items():
        if isinstance(rule, Mapping):
            check_pattern(rule)
        elif isinstance(rule, list):
            for item in rule:
                if isinstance(item, Mapping):
                    unknown = set(item) - _OPERATORS
                    if unknown or len(item) != 1:
                        raise ValueError(f"pattern {key!r}: unsupported operator {sorted(item)}")
        else:
            raise ValueError(f"pattern {key!r}: a leaf must be a list of alternatives")


def _leaf_matches(alternatives: list[Any], value: Any) -> bool:
    values = value if isinstance(value, list) else [value]
    for alternative in alternatives:
        if isinstance(alternative, Mapping):
            (operator, operand), *_ = alternative.items()
            if operator == "exists":
                if (value is not _MISSING) == bool(operand):
                    return True
                continue
            if value is _MISSING:
                continue
            if operator == "prefix" and any(isinstance(v, str) and v.startswith(operand) for v in values):
                return True
            if operator == "anything-but":
                excluded = operand if isinstance(operand, list) else [operand]
                if all(v not in excluded for v in values):
                    return True
        elif value is not _MISSING and any(_same(v, alternative) for v in values):
            return True
    return False


def _same(value: Any, literal: Any) -> bool:
    # true is not 1 in a pattern, though Python says True == 1.
    if isinstance(value, bool) or isinstance(literal, bool):
        return value is literal
    return bool(value == literal)


def matches(pattern: Mapping[str, Any], event: Mapping[str, Any]) -> bool:
    """Whether the event (an EventBridge envelope: source, detail-type, detail) matches."""
    for key, rule in pattern.items():
        value = event.get(key, _MISSING) if isinstance(event, Mapping) else _MISSING
        if isinstance(rule, Mapping):
            if not isinstance(value, Mapping) or not matches(rule, value):
                return False
        elif not _leaf_matches(rule, value):
            return False
    return True
