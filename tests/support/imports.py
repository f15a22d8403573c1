"""What code imports, read from its source: for the static checks of the Lambda packaging."""

from __future__ import annotations

import ast
import sys
from collections.abc import Iterable
from importlib import metadata
from pathlib import Path

from packaging.requirements import Requirement
from packaging.utils import canonicalize_name

ROOT = Path(__file__).resolve().parents[2]
PACKAGE = ROOT / "shared"


def _is_type_checking(node: ast.If) -> bool:
    test = node.test
    return (isinstance(test, ast.Name) and test.id == "TYPE_CHECKING") or (
        isinstance(test, ast.Attribute) and test.attr == "TYPE_CHECKING"
    )


def imports_of(path: Path, *, lazy: bool) -> set[str]:
    """Modules a file imports: at module level only (what runs at import, i.e. a cold start),
    or also inside functions (`lazy`). `if TYPE_CHECKING:` blocks never run."""
    tree = ast.parse(path.read_text())
    nodes: Iterable[ast.AST]
    if lazy:
        nodes = ast.walk(tree)
    else:
        nodes = []
        todo: list[ast.stmt] = list(tree.body)
        while todo:
            node = todo.pop()
            if isinstance(node, ast.If) and not _is_type_checking(node):
                todo += node.body + node.orelse
            elif isinstance(node, ast.Try):
                todo += node.body + node.orelse + node.finalbody
            else:
                nodes.append(node)
    found: set[str] = set()
    for node in nodes:
        if isinstance(node, ast.If) and _is_type_checking(node) and lazy:
            continue
        if isinstance(node, ast.Import):
            found |= {alias.name for alias in node.names}
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            found.add(node.module)
            found |= {f"{node.module}.{alias.name}" for alias in node.names}
    return found


def _module_file(name: str) -> Path | None:
    base = PACKAGE.joinpath(*name.split("."))
    for candidate in (base.with_suffix(".py"), base / "__init__.py"):
        if candidate.exists():
            return candidate
    return None


def _reachable(entry: Path, *, lazy: bool) -> tuple[set[str], set[str]]:
    """(altostratus modules, top-level third-party modules) reachable from `entry`."""
    todo, seen, internal, external = [entry], set(), set(), set()
    while todo:
        path = todo.pop()
        if path in seen:
            continue
        seen.add(path)
        for name in imports_of(path, lazy=lazy):
            top = name.split(".")[0]
            if top == "altostratus":
                parts = name.split(".")
                for i in range(1, len(parts) + 1):  # a package's __init__ runs too
                    file = _module_file(".".join(parts[:i]))
                    if file is not None:
                        internal.add(".".join(parts[:i]))
                        todo.append(file)
            elif top not in sys.stdlib_module_names and top != "__future__":
                external.add(top)
    return internal, external


def external_imports(entry: Path, *, lazy: bool) -> set[str]:
    """Top-level third-party modules reachable from `entry` through the altostratus package."""
    return _reachable(entry, lazy=lazy)[1]


def internal_imports(entry: Path, *, lazy: bool) -> set[str]:
    """The altostratus modules (and packages) reachable from `entry`."""
    return _reachable(entry, lazy=lazy)[0]


def dependency_closure(requirements: Iterable[str]) -> set[str]:
    """The distributions these requirements install, transitively (extras honoured)."""
    todo = [Requirement(r) for r in requirements]
    closure: set[str] = set()
    while todo:
        req = todo.pop()
        name = canonicalize_name(req.name)
        if name in closure:
            continue
        closure.add(name)
        try:
            requires = metadata.requires(name) or []
        except metadata.PackageNotFoundError:
            continue
        for line in map(Requirement, requires):
            if line.marker is None or any(line.marker.evaluate({"extra": x}) for x in (req.extras or {""})):
                todo.append(line)
    return closure


def missing_from(modules: set[str], closure: set[str]) -> dict[str, list[str]]:
    """Modules whose distribution the closure does not install."""
    providers = metadata.packages_distributions()
    missing = {}
    for module in modules:
        dists = {canonicalize_name(d) for d in providers.get(module, [])}
        if not dists & closure:
            missing[module] = sorted(dists) or ["(no installed distribution)"]
    return missing
