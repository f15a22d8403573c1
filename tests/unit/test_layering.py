"""Imports point inward: domain → ports → engine/api → adapters → runtimes → cli (style.md)."""

from __future__ import annotations

import ast
import sys
from pathlib import Path

PACKAGE = Path(__file__).resolve().parents[2] / "shared" / "altostratus"
# Rank of each subpackage; a module may import the package's modules of its rank or lower.
RANKS = {
    "domain": 0,
    "security": 0,
    "ports": 1,
    "engine": 2,
    "api": 2,
    "publishing": 2,
    "webhooks": 2,
    "orchestration": 2,
    "adapters": 3,
    "runtimes": 4,
    "devtools": 4,
    "demo": 4,
    "cli": 5,
}
# The innermost layers depend on nothing but the standard library and data validation.
ALLOWED_THIRD_PARTY = {
    "domain": {"pydantic", "pydantic_core", "jsonschema"},
    "security": set(),
    "ports": {"pydantic"},
}


def _imports(path: Path) -> list[str]:
    found = []
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            found += [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            found.append(node.module)
    return found


def _modules() -> list[tuple[str, Path]]:
    return [(p.relative_to(PACKAGE).parts[0], p) for p in PACKAGE.rglob("*.py") if p.parent != PACKAGE]


def test_every_subpackage_has_a_rank() -> None:
    assert {layer for layer, _ in _modules()} <= set(RANKS)


def test_no_module_imports_an_outer_layer() -> None:
    wrong = []
    for layer, path in _modules():
        for name in _imports(path):
            parts = name.split(".")
            if parts[0] == "altostratus" and len(parts) > 1 and RANKS.get(parts[1], -1) > RANKS[layer]:
                wrong.append(f"{path.relative_to(PACKAGE)} imports {name}")
    assert wrong == []


def test_the_inner_layers_use_only_the_standard_library_and_validation() -> None:
    wrong = []
    for layer, path in _modules():
        if layer not in ALLOWED_THIRD_PARTY:
            continue
        for name in _imports(path):
            top = name.split(".")[0]
            if top in sys.stdlib_module_names or top in ("__future__", "altostratus"):
                continue
            if top not in ALLOWED_THIRD_PARTY[layer]:
                wrong.append(f"{path.relative_to(PACKAGE)} imports {name}")
    assert wrong == []
