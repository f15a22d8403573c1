"""Static checks of the zip functions' packaging: what they import at a cold start is in their
layers (the browser is not: only the agent_step image has Chromium and Playwright)."""

from __future__ import annotations

import re
import tomllib

import pytest
from packaging.requirements import Requirement

from tests.support.imports import ROOT, dependency_closure, external_imports, missing_from

LAYER_REQUIREMENTS = ROOT / "layers" / "deps" / "requirements.txt"
ZIP_FUNCTIONS = [
    "api",
    "run_start",
    "run_finish",
    "run_failed",
    "run_sweeper",
    "session_close",
    "publisher",
    "webhook",
]


def _layer() -> list[str]:
    lines = LAYER_REQUIREMENTS.read_text().splitlines()
    return [line.strip() for line in lines if line.strip() and not line.startswith("#")]


@pytest.mark.parametrize("function", ZIP_FUNCTIONS)
def test_a_zip_function_imports_only_what_its_layers_install(function: str) -> None:
    imported = external_imports(ROOT / "functions" / function / "app.py", lazy=False)
    missing = missing_from(imported, dependency_closure(_layer()))
    assert not missing, f"functions/{function} imports at a cold start what its layer lacks: {missing}"
    assert not imported & {"playwright", "bpe_openai"}, "the browser belongs to the agent_step image only"


def test_every_zip_function_in_the_template_is_checked() -> None:
    template = (ROOT / "template.yaml").read_text()
    code_uris = set(re.findall(r"CodeUri: functions/(\w+)", template))
    assert code_uris == set(ZIP_FUNCTIONS)


def test_the_layer_pins_the_same_versions_as_the_project() -> None:
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["dependencies"]
    pinned = {Requirement(r).name.lower(): Requirement(r).specifier for r in project}
    for line in _layer():
        req = Requirement(line)
        assert req.name.lower() in pinned, f"{req.name} is in the layer but not a project dependency"
        assert req.specifier == pinned[req.name.lower()], (
            f"{req.name}: layer {req.specifier} vs {pinned[req.name.lower()]}"
        )
