"""Imports point inward: each package of altostratus has its own rank and may import only
packages of a lower rank; the adapters depend on the ports they implement, not on the services
that use them; only the runtimes (and the functions) assemble the API."""

from __future__ import annotations

import ast
import sys
from pathlib import Path

import pytest

from tests.support.imports import ROOT, internal_imports

PACKAGE = ROOT / "shared" / "altostratus"
# Each subpackage's rank; a module may import its own package and packages of lower rank.
RANKS = {
    "domain": 0,
    "security": 1,
    "ports": 2,
    "wire": 3,
    "engine": 4,
    "orchestration": 5,
    "publishing": 6,
    "webhooks": 7,
    "api": 8,
    "adapters": 9,
    "runtimes": 10,
    "devtools": 11,
    "demo": 12,
    "cli": 13,
}
# What an adapter may build on: the contracts it implements and the rules they speak of.
ADAPTER_DEPENDENCIES = {"domain", "security", "ports", "adapters"}
# The packages whose collaborators are injected through ports.
SERVICE_PACKAGES = {"domain", "wire", "engine", "orchestration", "publishing", "webhooks", "api"}
# The packages that compose the API into a deployable thing.
API_USERS = {"api", "runtimes"}
# The innermost layers depend on nothing but the standard library and data validation.
ALLOWED_THIRD_PARTY = {
    "domain": {"pydantic", "pydantic_core", "jsonschema"},
    "security": set(),
    "ports": {"pydantic"},
}
# The zip functions of the AWS stack: no agent engine and no browser in them.
LIFECYCLE_FUNCTIONS = ["run_start", "run_finish", "run_failed", "session_close", "publisher", "webhook"]


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


def _package_imports() -> list[tuple[str, Path, str]]:
    """(importing package, module, imported altostratus package) for every internal import."""
    found = []
    for layer, path in _modules():
        for name in _imports(path):
            parts = name.split(".")
            if parts[0] == "altostratus" and len(parts) > 1:
                found.append((layer, path, parts[1]))
    return found


def test_every_subpackage_has_a_rank_of_its_own() -> None:
    assert {layer for layer, _ in _modules()} <= set(RANKS)
    assert len(set(RANKS.values())) == len(RANKS)


def test_no_module_imports_an_outer_layer() -> None:
    wrong = [
        f"{path.relative_to(PACKAGE)} imports altostratus.{target}"
        for layer, path, target in _package_imports()
        if RANKS.get(target, -1) > RANKS[layer]
    ]
    assert wrong == []


def test_adapters_import_only_ports_and_domain() -> None:
    wrong = [
        f"{path.relative_to(PACKAGE)} imports altostratus.{target}"
        for layer, path, target in _package_imports()
        if layer == "adapters" and target not in ADAPTER_DEPENDENCIES
    ]
    assert wrong == []


def test_nothing_imports_the_api_but_the_runtimes() -> None:
    wrong = [
        f"{path.relative_to(PACKAGE)} imports altostratus.api"
        for layer, path, target in _package_imports()
        if target == "api" and layer not in API_USERS
    ]
    assert wrong == []


def test_every_port_lives_in_ports() -> None:
    """A Protocol in a service package is a port in hiding: what the service needs from outside
    belongs in ports/, where every adapter finds it. (An adapter's or the CLI's internal
    structural types are not ports.)"""
    wrong = []
    for layer, path in _modules():
        if layer not in SERVICE_PACKAGES:
            continue
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.ClassDef) and any(
                (isinstance(b, ast.Name) and b.id == "Protocol") for b in node.bases
            ):
                wrong.append(f"{path.relative_to(PACKAGE)}: {node.name}")
    assert wrong == []


@pytest.mark.parametrize("function", LIFECYCLE_FUNCTIONS)
def test_a_lifecycle_function_imports_neither_the_engine_nor_the_browser(function: str) -> None:
    reached = internal_imports(ROOT / "functions" / function / "app.py", lazy=False)
    wrong = {m for m in reached if m.startswith(("altostratus.engine", "altostratus.adapters.browser"))}
    assert wrong == set()


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
