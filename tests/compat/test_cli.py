"""`alto run` and `alto runs`: submit, follow and inspect runs from the command line."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from altostratus.demo.scripted import scripted_model
from altostratus.demo.site import bundled_site
from altostratus.devtools.fake_anthropic.server import FakeAnthropicServer
from tests.support.server import alto, alto_serve

pytestmark = pytest.mark.browser


@pytest.fixture
def model() -> Iterator[FakeAnthropicServer]:
    with FakeAnthropicServer(scripted_model()) as server:
        yield server


@pytest.fixture
def page() -> Iterator[str]:
    with bundled_site() as url:
        yield url


def _env(model: FakeAnthropicServer) -> dict[str, str]:
    return {**os.environ, "ANTHROPIC_API_KEY": model.api_key, "ALTO_ANTHROPIC_BASE_URL": model.base_url}


def _alto(*args: str, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "altostratus.cli.main", *args],
        capture_output=True,
        text=True,
        timeout=300,
        env=env,
    )


def test_alto_run_starts_the_embedded_server_follows_the_run_and_prints_its_output(
    tmp_path: Path, model: FakeAnthropicServer, page: str
) -> None:
    env = {**_env(model), "ALTO_PORT": "0"}
    result = _alto(
        "run", "What is the title of this page?", "--url", page, "--data-dir", str(tmp_path), env=env
    )
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout) == "Altostratus Outfitters — Trail lantern"
    assert "completed" in result.stderr  # the live progress goes to stderr


def test_a_run_that_does_not_complete_exits_non_zero_with_its_reason(tmp_path: Path, page: str) -> None:
    env = {k: v for k, v in os.environ.items() if k != "ANTHROPIC_API_KEY"} | {"ALTO_PORT": "0"}
    result = _alto("run", "What is the title?", "--url", page, "--data-dir", str(tmp_path), env=env)
    assert result.returncode == 1
    assert "failed" in result.stderr and "API key" in result.stderr


def test_alto_runs_lists_and_inspects_runs_of_a_running_server(
    tmp_path: Path, model: FakeAnthropicServer, page: str
) -> None:
    data_dir = tmp_path / "alto"
    key = alto("keys", "create", "--org", "acme", data_dir=data_dir).strip()
    with alto_serve(data_dir, env=_env(model)) as server:
        target = ["--base-url", server.base_url, "--api-key", key]
        schema = tmp_path / "schema.json"
        schema.write_text(json.dumps({"type": "object", "properties": {"sku": {"type": "string"}}}))
        ran = _alto(
            "run", "Extract the product", "--url", page, "--schema", str(schema), *target, env=_env(model)
        )
        assert ran.returncode == 0, ran.stderr
        listed = json.loads(_alto("runs", "list", "--json", *target, env=_env(model)).stdout)
        run_id = listed[0]["run_id"]
        got = json.loads(_alto("runs", "get", run_id, *target, env=_env(model)).stdout)
        assert got["status"] == "completed" and got["run_id"] == run_id
        timeline = _alto("runs", "timeline", run_id, *target, env=_env(model)).stdout
        assert "step 1" in timeline and "completed" in timeline
        artifacts = _alto(
            "runs", "artifacts", run_id, "--type", "screenshot_final", "--json", *target, env=_env(model)
        )
        assert [a["artifact_type"] for a in json.loads(artifacts.stdout)] == ["screenshot_final"]
        unknown = _alto("runs", "get", "tsk_404", *target, env=_env(model))
        assert unknown.returncode == 2 and "Task run not found tsk_404" in unknown.stderr
