"""Replay bench: the same task as an AI run and as a code replay of the plan compiled from it.

The task is the replay suite's order form (two pages, a select, a checkbox, then a confirmation
page read with a data_extraction_schema) on the fixture site, in real Chromium. The AI run is
the engine with the scripted model behind the real anthropic SDK and the fake Messages server;
the code replay is `replay_plan` on the plan `compile_plan` made of that run's log, with other
parameter values, and no model port at all. Both run once with a fake model answering at once
and once with one answering after 2 s a call (a real model's latency is of that order).

Per run it prints the wall time, the requests the fake model server received and the tokens
(its estimates, ~4 characters a token). Usage: `.venv/bin/python bench/replay.py`. The last
line is one JSON object.
"""

from __future__ import annotations

import asyncio
import json
import statistics
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from altostratus.adapters.browser import BrowserRuntime, BrowserSession, SessionConfig  # noqa: E402
from altostratus.adapters.browser.agent_browser import SessionBrowser  # noqa: E402
from altostratus.domain import events as ev  # noqa: E402
from altostratus.domain.replay.compile import compile_plan  # noqa: E402
from altostratus.domain.replay.plan import ReplayPlan  # noqa: E402
from altostratus.engine.agent import run_to_end  # noqa: E402
from altostratus.engine.replay.executor import replay_plan  # noqa: E402
from tests.agent.harness import Harness, make_harness  # noqa: E402
from tests.fakes.anthropic_server import FakeAnthropicServer  # noqa: E402
from tests.replay import scenario  # noqa: E402
from tests.support.fixture_site import FixtureSite  # noqa: E402

ZERO_ROUNDS = 3
SLOW_ROUNDS = 1
SLOW_MODEL_S = 2.0
OTHER_VALUES = {"full_name": "Grace Hopper", "email": "grace@example.com", "plan": "Enterprise"}


@dataclass(frozen=True)
class Figures:
    mode: str
    model: str
    wall_s: float
    model_calls: int
    tokens: int

    def line(self) -> str:
        return f"{self.mode:<12} {self.model:<14} {self.wall_s:>8.2f} {self.model_calls:>11} {self.tokens:>9}"


def _tokens(events: list[ev.Event]) -> int:
    total = 0
    for event in events:
        usage = getattr(event.data, "usage", None)
        if isinstance(usage, ev.Usage):
            total += usage.input_tokens + usage.cached_input_tokens + usage.cache_write_tokens
            total += usage.output_tokens
    return total


async def ai_run(
    runtime: BrowserRuntime, site: FixtureSite, server: FakeAnthropicServer, tmp: Path, run_no: int
) -> tuple[Figures, list[ev.Event]]:
    harness = make_harness(tmp / f"ai{run_no}", server)
    session = await runtime.new_session(SessionConfig(download_dir=tmp / f"d{run_no}"))
    calls_before = len(server.exchanges)
    started = time.perf_counter()
    try:
        # `record` drives the engine in process like the agent_step slice does.
        events = await _record(harness, site, session, run_no)
    finally:
        await session.close()
    wall = time.perf_counter() - started
    harness.close()
    model = "zero latency" if server.delay_s == 0 else f"{server.delay_s:g} s a call"
    return Figures("AI run", model, wall, len(server.exchanges) - calls_before, _tokens(events)), events


async def _record(
    harness: Harness, site: FixtureSite, session: BrowserSession, run_no: int
) -> list[ev.Event]:
    harness.server.set_policy(scenario.POLICY)
    run_id = harness.create_run(
        f"tsk_v2_bench_{run_no}",
        prompt=scenario.PROMPT,
        url=site.url(f"{scenario.PAGES}/order-1.html"),
        data_extraction_schema=scenario.ORDER_SCHEMA,
    )
    view = await run_to_end(harness.deps, run_id, browser=SessionBrowser(session))
    if view.failure_reason:
        raise RuntimeError(f"the AI run failed: {view.failure_reason}")
    return harness.events(run_id)


async def code_replay(
    runtime: BrowserRuntime, server: FakeAnthropicServer, plan: ReplayPlan, tmp: Path, run_no: int
) -> Figures:
    session = await runtime.new_session(SessionConfig(download_dir=tmp / f"r{run_no}"))
    calls_before = len(server.exchanges)
    started = time.perf_counter()
    try:
        result = await replay_plan(plan, OTHER_VALUES, SessionBrowser(session))
    finally:
        await session.close()
    wall = time.perf_counter() - started
    if not result.completed:
        raise RuntimeError(f"the replay failed: {result.reason}")
    expected = scenario.expected_output(
        OTHER_VALUES["full_name"], OTHER_VALUES["email"], OTHER_VALUES["plan"]
    )
    if result.output != expected:
        raise RuntimeError(f"the replay read {result.output}, not {expected}")
    model = "zero latency" if server.delay_s == 0 else f"{server.delay_s:g} s a call"
    return Figures("code replay", model, wall, len(server.exchanges) - calls_before, 0)


async def main() -> None:
    rows: list[Figures] = []
    with FixtureSite() as site, tempfile.TemporaryDirectory() as temp:
        tmp = Path(temp)
        runtime = await BrowserRuntime.launch_local()
        servers = {
            0.0: FakeAnthropicServer(scenario.POLICY).start(),
            SLOW_MODEL_S: FakeAnthropicServer(scenario.POLICY, delay_s=SLOW_MODEL_S).start(),
        }
        try:
            run_no = 0
            # Warm Chromium up once, so the first measured run is not the browser's cold start.
            _, events = await ai_run(runtime, site, servers[0.0], tmp, run_no)
            plan = compile_plan(events)
            print(f"{'mode':<12} {'model':<14} {'wall s':>8} {'model calls':>11} {'tokens':>9}")
            for delay, rounds in ((0.0, ZERO_ROUNDS), (SLOW_MODEL_S, SLOW_ROUNDS)):
                for _ in range(rounds):
                    run_no += 1
                    figures, events = await ai_run(runtime, site, servers[delay], tmp, run_no)
                    rows.append(figures)
                    print(figures.line())
                    # Each replay runs the plan compiled from the AI run it is compared with.
                    plan = compile_plan(events)
                    replayed = await code_replay(runtime, servers[delay], plan, tmp, run_no)
                    rows.append(replayed)
                    print(replayed.line())
        finally:
            await runtime.close()
            for server in servers.values():
                server.stop()

    def median(mode: str, model: str, attr: str) -> float:
        return statistics.median(getattr(r, attr) for r in rows if r.mode == mode and r.model == model)

    zero, slow = "zero latency", f"{SLOW_MODEL_S:g} s a call"
    figures = {
        "ai_wall_s_zero_latency": round(median("AI run", zero, "wall_s"), 3),
        "replay_wall_s_zero_latency": round(median("code replay", zero, "wall_s"), 3),
        "ai_wall_s_2s_model": round(median("AI run", slow, "wall_s"), 3),
        "replay_wall_s_2s_model": round(median("code replay", slow, "wall_s"), 3),
        "ai_model_calls": int(median("AI run", zero, "model_calls")),
        "ai_tokens": int(median("AI run", zero, "tokens")),
        "replay_model_calls": sum(r.model_calls for r in rows if r.mode == "code replay"),
        "replay_tokens": sum(r.tokens for r in rows if r.mode == "code replay"),
    }
    figures["replay_speedup_zero_latency"] = round(
        figures["ai_wall_s_zero_latency"] / figures["replay_wall_s_zero_latency"], 2
    )
    figures["replay_speedup_2s_model"] = round(
        figures["ai_wall_s_2s_model"] / figures["replay_wall_s_2s_model"], 2
    )
    print()
    print(
        "wall s: from opening the browser context to the output (AI run: the engine's steps, the model's "
        "turns, its verifier and extraction; code replay: the plan's steps and selector reads, other "
        "parameter values). Model calls: requests the fake Messages server received. Target: "
        "replay_model_calls = 0, replay_speedup_2s_model >= 10."
    )
    print(json.dumps(figures))


if __name__ == "__main__":
    asyncio.run(main())
