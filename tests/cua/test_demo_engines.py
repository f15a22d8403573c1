"""`alto demo --engine <computer-use engine>` runs both tasks offline and says the model is scripted."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

pytestmark = pytest.mark.browser


@pytest.mark.parametrize("engine", ["openai-cua", "anthropic-cua", "ui-tars"])
def test_the_offline_demo_runs_on_each_computer_use_engine(tmp_path: Path, engine: str) -> None:
    env = {k: v for k, v in os.environ.items() if k not in ("ANTHROPIC_API_KEY", "OPENAI_API_KEY")}
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "altostratus.cli.main",
            "demo",
            "--engine",
            engine,
            "--data-dir",
            str(tmp_path),
        ],
        capture_output=True,
        text=True,
        timeout=300,
        env={**env, "COLUMNS": "200"},
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert f"The {engine} model is SCRIPTED" in result.stdout
    assert 'output: "Altostratus Outfitters — Trail lantern"' in result.stdout
    assert '"sku": "LNT-400", "price": 42.5, "in_stock": 17' in result.stdout
