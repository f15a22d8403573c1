"""Killing `alto serve` in the middle of a run and starting it again leaves no run `running`:
a run with a checkpoint resumes from it; one without ends with a reason."""

from __future__ import annotations

import os
import signal
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from altostratus.domain import events as ev
from altostratus.runtimes.local import build_local
from altostratus.runtimes.local_runner import LOST_PROGRESS
from altostratus.runtimes.settings import Settings
from tests.agent.scenarios import AGENT_PAGES, FORM
from tests.fakes.anthropic_server import FakeAnthropicServer
from tests.support.fixture_site import FixtureSite
from tests.support.server import RunningServer, alto, alto_serve

pytestmark = pytest.mark.browser


@pytest.fixture
def model() -> Iterator[FakeAnthropicServer]:
    # A little latency per answer, so the server can be killed while a run is in progress.
    with FakeAnthropicServer(FORM.policy(), delay_s=0.3) as server:
        yield server


def _env(model: FakeAnthropicServer, **extra: str) -> dict[str, str]:
    return {"ANTHROPIC_API_KEY": model.api_key, "ALTO_ANTHROPIC_BASE_URL": model.base_url, **extra}


def _wait_for(check: Callable[[], bool], what: str, timeout_s: float = 60) -> None:
    deadline = time.monotonic() + timeout_s
    while not check():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        time.sleep(0.05)


def _events(data_dir: Path, run_id: str) -> list[ev.Event]:
    store = build_local(Settings(data_dir=data_dir))
    try:
        return store.event_log.read(run_id)
    finally:
        store.close()


def _submit(server: RunningServer, key: str, site: FixtureSite) -> str:
    request = {"prompt": FORM.prompt, "url": site.url(f"/{AGENT_PAGES}/{FORM.start}")}
    reply = httpx.post(
        f"{server.base_url}/v1/run/tasks", json=request, headers={"x-api-key": key}, timeout=30
    )
    assert reply.status_code == 200, reply.text
    return str(reply.json()["run_id"])


def _status(server: RunningServer, key: str, run_id: str) -> Any:
    return httpx.get(f"{server.base_url}/v1/runs/{run_id}", headers={"x-api-key": key}, timeout=30).json()


def _kill(server: RunningServer) -> None:
    os.kill(server.process.pid, signal.SIGKILL)  # no chance to clean up, like a crash
    server.process.wait(timeout=10)


def test_a_run_with_a_checkpoint_resumes_after_a_crash_and_completes(
    tmp_path: Path, site: FixtureSite, model: FakeAnthropicServer
) -> None:
    data_dir = tmp_path / "alto"
    key = alto("keys", "create", "--org", "acme", data_dir=data_dir).strip()
    # Slices of about one step, so a checkpoint exists soon after the run starts.
    env = _env(model, ALTO_SLICE_SECONDS="0.5", ALTO_STEP_RESERVE_SECONDS="0")
    with alto_serve(data_dir, env=env) as first:
        run_id = _submit(first, key, site)
        _wait_for(lambda: any(e.type == "CheckpointSaved" for e in _events(data_dir, run_id)), "a checkpoint")
        _kill(first)
    assert _events(data_dir, run_id)[-1].type != "RunCompleted"

    with alto_serve(data_dir, env=env) as second:
        _wait_for(lambda: _status(second, key, run_id)["status"] != "running", "the run to end")
        run = _status(second, key, run_id)
    types = [e.type for e in _events(data_dir, run_id)]
    assert run["status"] == "completed", run["failure_reason"]
    assert "RunResumed" in types
    assert types.count("RunCompleted") == 1


def test_a_run_without_a_checkpoint_is_ended_with_a_reason_after_a_crash(
    tmp_path: Path, site: FixtureSite, model: FakeAnthropicServer
) -> None:
    data_dir = tmp_path / "alto"
    key = alto("keys", "create", "--org", "acme", data_dir=data_dir).strip()
    with alto_serve(data_dir, env=_env(model)) as first:
        run_id = _submit(first, key, site)
        _wait_for(lambda: any(e.type == "StepStarted" for e in _events(data_dir, run_id)), "a step")
        _kill(first)
    assert _events(data_dir, run_id)[-1].type not in ev.TERMINAL_EVENT_TYPES

    with alto_serve(data_dir, env=_env(model)) as second:
        run = _status(second, key, run_id)
    assert run["status"] == "failed"
    assert run["failure_reason"] == LOST_PROGRESS
