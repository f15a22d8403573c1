"""Orchestration overhead on the embedded runner: what a run costs outside the agent.

For each run: submit -> its first step started, and its last step finished -> its terminal view,
from the run's own event timestamps; and throughput with N runs queued at once, with one and
with two browsers. The model is the fake Messages server with zero latency and the task is a
two-step fixture task, so the figures are the system's, not the model's. The last line is one
JSON object with the figures.
"""

from __future__ import annotations

import json
import statistics
import sys
import tempfile
import time
from pathlib import Path

import httpx

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from altostratus.domain import events as ev  # noqa: E402
from altostratus.runtimes.embedded import EmbeddedService  # noqa: E402
from altostratus.runtimes.settings import Settings  # noqa: E402
from tests.agent.scenarios import AGENT_PAGES, LINKS  # noqa: E402
from tests.fakes.anthropic_server import FakeAnthropicServer  # noqa: E402
from tests.support.fixture_site import FixtureSite  # noqa: E402

QUEUED = 12
ONE_BY_ONE = 5


def _overheads(service: EmbeddedService, run_id: str) -> tuple[float, float]:
    events = service.runtime.event_log.read(run_id)
    assert events[-1].type == "RunCompleted", events[-1].data
    created = events[0].at
    first_step = next(e.at for e in events if isinstance(e.data, ev.StepStarted))
    last_step = [e.at for e in events if isinstance(e.data, ev.StepFinished)][-1]
    terminal = next(e.at for e in events if e.type in ev.TERMINAL_EVENT_TYPES)
    return (first_step - created).total_seconds() * 1000, (terminal - last_step).total_seconds() * 1000


def measure(browsers: int, site: FixtureSite, model: FakeAnthropicServer) -> dict[str, float]:
    settings = Settings(
        data_dir=Path(tempfile.mkdtemp(prefix="alto-bench-orch-")),
        port=0,
        anthropic_api_key=model.api_key,
        anthropic_base_url=model.base_url,
        max_browsers=browsers,
    )
    service = EmbeddedService(settings)
    key = service.runtime.ensure_dev_key()
    request = {"prompt": LINKS.prompt, "url": site.url(f"/{AGENT_PAGES}/{LINKS.start}")}
    with (
        service,
        httpx.Client(base_url=service.base_url, headers={"x-api-key": str(key)}, timeout=30) as http,
    ):
        # Overhead: one run at a time, so nothing waits in the queue.
        to_first, to_terminal = [], []
        for _ in range(ONE_BY_ONE):
            run_id = http.post("/v1/run/tasks", json=request).json()["run_id"]
            assert service.runner.wait_idle(timeout=120)
            first, last = _overheads(service, run_id)
            to_first.append(first)
            to_terminal.append(last)
        # Throughput: many runs queued at once.
        started = time.perf_counter()
        run_ids = [http.post("/v1/run/tasks", json=request).json()["run_id"] for _ in range(QUEUED)]
        assert service.runner.wait_idle(timeout=600)
        elapsed = time.perf_counter() - started
        for run_id in run_ids:
            _overheads(service, run_id)  # every run completed
    return {
        "submit_to_first_step_ms_p50": statistics.median(to_first),
        "last_step_to_terminal_ms_p50": statistics.median(to_terminal),
        "runs_per_minute": QUEUED / elapsed * 60,
    }


def main() -> None:
    with FixtureSite() as site, FakeAnthropicServer(LINKS.policy()) as model:
        one = measure(1, site, model)
        two = measure(2, site, model)
    print("a two-step fixture task; fake model with zero latency")
    print(f"overhead over {ONE_BY_ONE} runs one at a time, throughput over {QUEUED} runs queued at once")
    print(f"{'':34} {'1 browser':>12} {'2 browsers':>12}")
    for name in ("submit_to_first_step_ms_p50", "last_step_to_terminal_ms_p50", "runs_per_minute"):
        print(f"{name:34} {one[name]:>12.1f} {two[name]:>12.1f}")
    print("submit -> first step: queue pick-up, a new browser context (each worker keeps its Chromium),")
    print("the first page load and snapshot;")
    print("last step -> terminal: the final screenshot and the terminal event.")
    print(json.dumps({k: round(v, 2) for k, v in two.items()}))


if __name__ == "__main__":
    main()
