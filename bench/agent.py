"""Agent bench: the engine's own time per step and the tokens it sends, on the fixture tasks.

Runs the end-to-end fixture tasks (real Chromium, the fixture site, the real anthropic SDK
against the fake Messages server answering with zero delay) twice: a baseline that sends the
full snapshot every step without prompt caching, and the engine's defaults (diffs after the
first snapshot of a page, cached prefix and conversation). Per step it prints the time the
engine spent outside the model's latency (perception, actions, recording) and the input tokens
the model was sent uncached (plain input plus cache writes), read from cache, and its output.

Token counts are the fake server's estimates (about 4 characters a token, images by pixels),
the same for both variants, so the comparison holds even though absolute counts are approximate.

Usage: `.venv/bin/python bench/agent.py` (no arguments). The last line is one JSON object.
"""

from __future__ import annotations

import asyncio
import json
import statistics
import sys
import tempfile
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from altostratus.domain import events as ev  # noqa: E402
from altostratus.engine.agent import EngineSettings, ScreenshotsInPrompt, run_to_end  # noqa: E402
from altostratus.engine.agent.session_adapter import SessionBrowser  # noqa: E402
from altostratus.engine.browser import BrowserRuntime, SessionConfig  # noqa: E402
from altostratus.engine.recording.recorder import RecordingSink, SliceRecording  # noqa: E402
from tests.agent import scenarios as sc  # noqa: E402
from tests.agent.harness import make_harness  # noqa: E402
from tests.fakes.anthropic_server import FakeAnthropicServer  # noqa: E402
from tests.support.fixture_site import FixtureSite  # noqa: E402

ROUNDS = 3
VARIANTS = {
    # The naive loop: the whole snapshot and a screenshot of every new page, nothing cached,
    # superseded snapshots and images dropped as soon as they are superseded.
    "full snapshot, no cache": EngineSettings(
        snapshot_diffs=False,
        prompt_caching=False,
        screenshots_in_prompt=ScreenshotsInPrompt.NEW_PAGES,
        elide_superseded_after_chars=0,
        max_images_in_conversation=1,
    ),
    "diffs + caching": EngineSettings(),
    # The same, with the run's video recorded (screencast, encoding, stores every few seconds).
    "diffs + caching + video": EngineSettings(),
}
MEASURED = "diffs + caching"
RECORDED = "diffs + caching + video"
COLUMNS = f"{'variant':<24} {'task':<18} {'step':>4} {'ms':>6} {'browser':>8} {'engine':>7} " + (
    f"{'uncached':>9} {'cached':>7} {'output':>7}"
)


@dataclass(frozen=True)
class StepFigures:
    variant: str
    task: str
    order: int
    overhead_ms: int
    browser_action_ms: int
    uncached: int
    cached: int
    output: int

    @property
    def engine_ms(self) -> int:
        return self.overhead_ms - self.browser_action_ms

    def line(self) -> str:
        return (
            f"{self.variant:<24} {self.task:<18} {self.order:>4} {self.overhead_ms:>6} "
            f"{self.browser_action_ms:>8} {self.engine_ms:>7} "
            f"{self.uncached:>9} {self.cached:>7} {self.output:>7}"
        )


async def run_task(
    runtime: BrowserRuntime,
    site: FixtureSite,
    server: FakeAnthropicServer,
    scenario: sc.Scenario,
    settings: EngineSettings,
    run_no: int,
    *,
    record: bool = False,
) -> list[tuple[ev.StepFinished, int]]:
    """The run's finished steps, each with the time its browser actions took (from their reports)."""
    server.set_policy(scenario.policy())
    with tempfile.TemporaryDirectory() as tmp:
        harness = make_harness(Path(tmp), server, settings)
        url = site.url(f"{sc.AGENT_PAGES}/{scenario.start}")
        run_id = harness.create_run(f"tsk_v2_{run_no}", prompt=scenario.prompt, url=url, **scenario.request)
        session = await runtime.new_session(SessionConfig(download_dir=Path(tmp) / "downloads"))
        try:
            if record:
                deps = harness.deps
                sink = RecordingSink(artifacts=deps.artifacts, event_log=deps.event_log, ids=deps.ids)
                created = deps.event_log.get_view(run_id)
                assert created is not None
                async with SliceRecording(sink, created, session):
                    view = await run_to_end(deps, run_id, browser=SessionBrowser(session))
                ended = deps.event_log.get_view(run_id)
                if ended is None or ended.recording is None:
                    raise RuntimeError(f"{scenario.name}: no video was recorded")
            else:
                view = await run_to_end(harness.deps, run_id, browser=SessionBrowser(session))
        finally:
            await session.close()
        if view.failure_reason:
            raise RuntimeError(f"{scenario.name}: {view.status} {view.failure_reason}")
        action_ms: dict[str, float] = {}
        for executed in harness.of_type(run_id, ev.ActionExecuted):
            action_ms[executed.step_id] = action_ms.get(executed.step_id, 0.0) + float(
                executed.effect.get("ms", 0)
            )
        steps = [(s, round(action_ms.get(s.step_id, 0.0))) for s in harness.of_type(run_id, ev.StepFinished)]
        harness.close()
        return steps


def percentile(values: list[int], q: float) -> float:
    ordered = sorted(values)
    index = min(len(ordered) - 1, max(0, round(q * (len(ordered) - 1))))
    return float(ordered[index])


def summary(rows: list[StepFigures]) -> dict[str, float]:
    return {
        "step_overhead_ms_p50": percentile([r.overhead_ms for r in rows], 0.5),
        "step_overhead_ms_p90": percentile([r.overhead_ms for r in rows], 0.9),
        "browser_action_ms_p50": percentile([r.browser_action_ms for r in rows], 0.5),
        "engine_ms_p50": percentile([r.engine_ms for r in rows], 0.5),
        "uncached_input_tokens_per_step_median": statistics.median(r.uncached for r in rows),
        "cached_input_tokens_per_step_median": statistics.median(r.cached for r in rows),
        "output_tokens_per_step_median": statistics.median(r.output for r in rows),
        "steps": len(rows),
    }


async def main() -> None:
    figures: list[StepFigures] = []
    # One fake API per variant: like the real one, its prompt cache is shared by all runs.
    servers = {variant: FakeAnthropicServer(sc.LINKS.policy()).start() for variant in [*VARIANTS, "warm-up"]}
    with FixtureSite() as site:
        runtime = await BrowserRuntime.launch_local()
        try:
            run_no = 0
            # Warm Chromium up once so the first measured step is not the browser's cold start.
            await run_task(runtime, site, servers["warm-up"], sc.LINKS, EngineSettings(), run_no)
            print(COLUMNS)
            for _round in range(ROUNDS):
                for variant, settings in VARIANTS.items():
                    for scenario in sc.BENCH_SCENARIOS:
                        run_no += 1
                        record = variant == RECORDED
                        server = servers[variant]
                        steps = await run_task(
                            runtime, site, server, scenario, settings, run_no, record=record
                        )
                        for order, (step, action_ms) in enumerate(steps, start=1):
                            row = StepFigures(
                                variant=variant,
                                task=scenario.name,
                                order=order,
                                overhead_ms=step.overhead_ms or 0,
                                browser_action_ms=action_ms,
                                uncached=step.usage.input_tokens + step.usage.cache_write_tokens,
                                cached=step.usage.cached_input_tokens,
                                output=step.usage.output_tokens,
                            )
                            figures.append(row)
                            print(row.line())
        finally:
            await runtime.close()
            for server in servers.values():
                server.stop()

    summaries = {v: summary([f for f in figures if f.variant == v]) for v in VARIANTS}
    print()
    print(f"{'per step':<40} " + " ".join(f"{v:>24}" for v in VARIANTS))
    for key in summaries[MEASURED]:
        print(f"{key:<40} " + " ".join(f"{summaries[v][key]:>24}" for v in VARIANTS))
    print(
        "ms: step time outside the model's latency; browser: inside the browser layer's actions "
        "(their effect reports); engine: the rest (snapshots, screenshots, recording). Target: p50 <= 150 ms."
    )
    print("uncached = input + cache-write tokens (fake server's estimate, ~4 chars a token)")
    measured = summaries[MEASURED]
    keys = (
        "step_overhead_ms_p50",
        "uncached_input_tokens_per_step_median",
        "cached_input_tokens_per_step_median",
        "output_tokens_per_step_median",
        "browser_action_ms_p50",
        "engine_ms_p50",
    )
    figures_out = {key: measured[key] for key in keys}
    recorded = summaries[RECORDED]
    figures_out["step_overhead_ms_p50_with_video"] = recorded["step_overhead_ms_p50"]
    figures_out["step_overhead_ms_p90_with_video"] = recorded["step_overhead_ms_p90"]
    print(json.dumps(figures_out))


if __name__ == "__main__":
    asyncio.run(main())
