"""The exported main.py is a plain Playwright script a user runs on their own machine: run here
as a subprocess with Debian's Chromium against the fixture site, it completes the order with
the parameters it is given and prints the output as JSON."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from altostratus.adapters.browser.config import LaunchConfig
from altostratus.domain import events as ev
from altostratus.domain.replay.compile import compile_plan
from altostratus.domain.replay.export import export_playwright
from tests.replay import scenario

pytestmark = pytest.mark.browser


def _run(script: Path, *args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    environment = {"PATH": os.environ.get("PATH", ""), "HOME": os.environ.get("HOME", "/tmp")}
    environment["CHROMIUM"] = LaunchConfig().executable()
    return subprocess.run(
        [sys.executable, str(script), *args],
        capture_output=True,
        text=True,
        timeout=120,
        env={**environment, **(env or {})},
        check=False,
    )


def test_main_py_completes_the_order_with_other_values_and_prints_the_output(
    recorded: list[ev.Event], tmp_path: Path
) -> None:
    script = tmp_path / "main.py"
    script.write_text(export_playwright(compile_plan(recorded)))
    done = _run(
        script, "--full-name", "Grace Hopper", "--plan", "Enterprise", env={"ALTO_EMAIL": "g@example.com"}
    )
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout) == scenario.expected_output("Grace Hopper", "g@example.com", "Enterprise")


def test_main_py_defaults_to_the_recorded_values_and_documents_its_parameters(
    recorded: list[ev.Event], tmp_path: Path
) -> None:
    script = tmp_path / "main.py"
    script.write_text(export_playwright(compile_plan(recorded)))
    helped = _run(script, "--help")
    assert helped.returncode == 0, helped.stderr
    assert "--full-name" in helped.stdout and "--plan" in helped.stdout and "ALTO_EMAIL" in helped.stdout
    done = _run(script)
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout) == scenario.expected_output("Ada Lovelace", "ada@example.com", "Team")
