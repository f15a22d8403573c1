"""Static checks of the agent_step container image (no Docker here to build it)."""

from __future__ import annotations

import ast
import re
import sys
import tomllib
from importlib import metadata
from pathlib import Path

from packaging.requirements import Requirement
from packaging.utils import canonicalize_name

ROOT = Path(__file__).resolve().parents[2]
DOCKERFILE = (ROOT / "functions" / "agent_step" / "Dockerfile").read_text()
HANDLER = ROOT / "functions" / "agent_step" / "app.py"
PACKAGE = ROOT / "shared"


def _imports(path: Path) -> set[str]:
    """Every module a file imports, at the top or inside functions (absolute names)."""
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text())):
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


def _external_imports_of_handler() -> set[str]:
    """Top-level third-party modules reachable from the handler through the package."""
    todo, seen, external = [HANDLER], set(), set()
    while todo:
        path = todo.pop()
        if path in seen:
            continue
        seen.add(path)
        for name in _imports(path):
            top = name.split(".")[0]
            if top == "altostratus":
                parts = name.split(".")
                for i in range(1, len(parts) + 1):  # the package's __init__ files run too
                    file = _module_file(".".join(parts[:i]))
                    if file is not None:
                        todo.append(file)
            elif top not in sys.stdlib_module_names and top != "__future__":
                external.add(top)
    return external


def _runtime_dependency_closure() -> set[str]:
    """pyproject's runtime dependencies and everything they pull in (with their extras)."""
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    todo = [Requirement(r) for r in project["dependencies"]]
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
            wanted = line.marker is None or any(
                line.marker.evaluate({"extra": extra}) for extra in (req.extras or {""})
            )
            if wanted:
                todo.append(line)
    return closure


def test_the_image_installs_every_package_the_handler_imports() -> None:
    providers = metadata.packages_distributions()
    closure = _runtime_dependency_closure()
    missing = {}
    for module in _external_imports_of_handler():
        dists = {canonicalize_name(d) for d in providers.get(module, [])}
        if not dists & closure:
            missing[module] = sorted(dists) or ["(no installed distribution)"]
    assert not missing, f"imported by the agent_step handler but not installed by the image: {missing}"
    assert {"aws_lambda_powertools", "playwright", "anthropic", "pydantic"} <= _external_imports_of_handler()


def test_the_dockerfile_builds_the_package_with_chromium_from_the_lambda_base_image() -> None:
    assert re.search(r"^FROM public\.ecr\.aws/lambda/python:3\.1[1-3]\b", DOCKERFILE, re.M)
    assert re.search(r"^COPY pyproject\.toml .*/opt/altostratus/", DOCKERFILE, re.M)
    assert re.search(r"^COPY shared /opt/altostratus/shared$", DOCKERFILE, re.M)
    assert "pip install --no-cache-dir /opt/altostratus" in DOCKERFILE
    assert "playwright install" in DOCKERFILE and "chromium" in DOCKERFILE
    assert re.search(r"^COPY functions/agent_step/app\.py \$\{LAMBDA_TASK_ROOT\}/$", DOCKERFILE, re.M)
    assert re.search(r'^CMD \["app\.handler"\]$', DOCKERFILE, re.M)
    assert "ALTO_CHROMIUM_PATH=" in DOCKERFILE and "HOME=/tmp" in DOCKERFILE


def test_the_template_builds_the_image_from_this_dockerfile() -> None:
    template = (ROOT / "template.yaml").read_text()
    assert "Dockerfile: functions/agent_step/Dockerfile" in template
    assert "DockerContext: ." in template
