"""`alto demo`, the README's first command, runs both example tasks to completion offline."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

pytestmark = pytest.mark.browser


def test_the_offline_demo_completes_both_tasks_and_says_the_model_is_scripted(tmp_path: Path) -> None:
    env = {k: v for k, v in os.environ.items() if k != "ANTHROPIC_API_KEY"}
    result = subprocess.run(
        [sys.executable, "-m", "altostratus.cli.main", "demo", "--data-dir", str(tmp_path / "demo")],
        capture_output=True,
        text=True,
        timeout=300,
        env={**env, "COLUMNS": "200"},
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert "the model is SCRIPTED" in result.stdout
    assert 'output: "Altostratus Outfitters — Trail lantern"' in result.stdout
    assert '"sku": "LNT-400", "price": 42.5, "in_stock": 17' in result.stdout
    assert result.stdout.count("completed in") == 2
