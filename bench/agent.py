"""Agent bench: the engine's own time per step, its writes to the event log, and the tokens it sends.

Runs the end-to-end fixture tasks (real Chromium, the fixture site, the real anthropic SDK
against the fake Messages server answering with zero delay) in three variants:

- "full snapshot, no cache": the tokens' baseline, the full snapshot every step, nothing cached;
- "today's loop": the previous loop, rebuilt in `bench/_todays_loop.py`: fixed quiet windows on
  the whole document and network after every action, one append per recorded event, Playwright's
  screenshot;
- "diffs + caching": the engine's defaults (the figures measured).

Per step it prints the time the engine spent outside the model's latency (perception, actions,
recording), the event log's appends and view reads (counted on the real SQLite log, from the
previous step's end to this step's end), and the input tokens the model was sent uncached
(plain input plus cache writes), read from cache, and its output.

Token counts are the fake server's estimates (about 4 characters a token, images by pixels),
the same for every variant, so the comparison holds even though absolute counts are approximate.

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

from dataclasses import replace  # noqa: E402

from altostratus.adapters.browser import BrowserRuntime, BrowserSession, SessionConfig  # noqa: E402
from altostratus.adapters.browser.agent_browser import SessionBrowser  # noqa: E402
from altostratus.adapters.recording.recorder import RecordingSink, SliceRecording  # noqa: E402
from altostratus.domain import events as ev  # noqa: E402
from altostratus.engine.agent import EngineSettings, ScreenshotsInPrompt, run_to_end  # noqa: E402
from bench._todays_loop import (  # noqa: E402
    ChattyEventLog,
    CountingEventLog,
    FixedWindowSettler,
    TodaysBrowser,
)
from tests.agent import scenarios as sc  # noqa: E402
from tests.agent.harness import make_harness  # noqa: E402
from tests.fakes.anthropic_server import FakeAnthropicServer  # noqa: E402
from tests.support.fixture_site import FixtureSite  # noqa: E402

ROUNDS = 3


@dataclass(frozen=True)
class Variant:
    settings: EngineSettings
    todays_loop: bool = False
    # The run's video recorded while it runs (screencast, encoding, stored every few seconds).
    video: bool = False


VARIANTS = {
    # The naive loop: the whole snapshot and a screenshot of every new page, nothing cached,
    # superseded snapshots and images dropped as soon as they are superseded.
    "full snapshot, no cache": Variant(
        EngineSettings(
            snapshot_diffs=False,
            prompt_caching=False,
            screenshots_in_prompt=ScreenshotsInPrompt.NEW_PAGES,
            elide_superseded_after_chars=0,
            max_images_in_conversation=1,
        )
    ),
    "today's loop": Variant(EngineSettings(), todays_loop=True),
    "diffs + caching": Variant(EngineSettings()),
    "diffs + caching + video": Variant(EngineSettings(), video=True),
}
MEASURED = "diffs + caching"
RECORDED = "diffs + caching + video"
TOKENS_BASELINE = "full snapshot, no cache"
LOOP_BASELINE = "today's loop"
COLUMNS = f"{'variant':<24} {'task':<18} {'step':>4} {'ms':>6} {'browser':>8} {'engine':>7} " + (
    f"{'appends':>8} {'views':>6} {'uncached':>9} {'cached':>7} {'output':>7}"
)


@dataclass(frozen=True)
class StepFigures:
    variant: str
    task: str
    order: int
    overhead_ms: int
    browser_action_ms: int
    appends: int
    view_reads: int
    uncached: int
    cached: int
    output: int

    @property
    def engine_ms(self) -> int:
        return self.overhead_ms - self.browser_action_ms

    def line(self) -> str:
        return (
            f"{self.variant:<24} {self.task:<18} {self.order:>4} {self.overhead_ms:>6} "
            f"{self.browser_action_ms:>8} {self.engine_ms:>7} {self.appends:>8} {self.view_reads:>6} "
            f"{self.uncached:>9} {self.cached:>7} {self.output:>7}"
        )


@dataclass(frozen=True)
class StepRun:
    step: ev.StepFinished
    browser_action_ms: int
    appends: int
    view_reads: int


async def run_task(
    runtime: BrowserRuntime,
    site: FixtureSite,
    server: FakeAnthropicServer,
    scenario: sc.Scenario,
    variant: Variant,
    run_no: int,
) -> list[StepRun]:
    """The run's finished steps, each with the time its browser actions took (from their
    reports) and the event log's appends and view reads it cost."""
    server.set_policy(scenario.policy())
    with tempfile.TemporaryDirectory() as tmp:
        harness = make_harness(Path(tmp), server, variant.settings)
        log_type = ChattyEventLog if variant.todays_loop else CountingEventLog
        log = log_type(harness.db, harness.deps.clock)
        harness.event_log = log
        harness.deps = replace(harness.deps, event_log=log)
        url = site.url(f"{sc.AGENT_PAGES}/{scenario.start}")
        run_id = harness.create_run(f"tsk_v2_{run_no}", prompt=scenario.prompt, url=url, **scenario.request)
        log.reset()
        config = SessionConfig(download_dir=Path(tmp) / "downloads")
        if variant.todays_loop:
            session = await BrowserSession.open(runtime, config, settler=FixedWindowSettler())
            browser: SessionBrowser = TodaysBrowser(session)
        else:
            session = await runtime.new_session(config)
            browser = SessionBrowser(session)
        try:
            if variant.video:
                deps = harness.deps
                sink = RecordingSink(artifacts=deps.artifacts, event_log=deps.event_log, ids=deps.ids)
                created = deps.event_log.get_view(run_id)
                assert created is not None
                async with SliceRecording(sink, created, session):
                    view = await run_to_end(deps, run_id, browser=browser)
                if view.recording is None and (deps.event_log.get_view(run_id) or view).recording is None:
                    raise RuntimeError(f"{scenario.name}: no video was recorded")
            else:
                view = await run_to_end(harness.deps, run_id, browser=browser)
        finally:
            await session.close()
        if view.failure_reason:
            raise RuntimeError(f"{scenario.name}: {view.status} {view.failure_reason}")
        action_ms: dict[str, float] = {}
        for executed in harness.of_type(run_id, ev.ActionExecuted):
            action_ms[executed.step_id] = action_ms.get(executed.step_id, 0.0) + float(
                executed.effect.get("ms", 0)
            )
        steps = []
        for step in harness.of_type(run_id, ev.StepFinished):
            tally = log.steps[step.step_id]
            steps.append(
                StepRun(step, round(action_ms.get(step.step_id, 0.0)), tally.appends, tally.view_reads)
            )
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
        "log_appends_per_step_median": statistics.median(r.appends for r in rows),
        "view_reads_per_step_median": statistics.median(r.view_reads for r in rows),
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
        # Every variant runs in this one browser (the default: the headless shell when installed).
        print(f"browser: {runtime.config.executable()} {runtime.browser.version}")
        try:
            run_no = 0
            # Warm Chromium up once so the first measured step is not the browser's cold start.
            await run_task(runtime, site, servers["warm-up"], sc.LINKS, Variant(EngineSettings()), run_no)
            print(COLUMNS)
            for _round in range(ROUNDS):
                for name, variant in VARIANTS.items():
                    for scenario in sc.BENCH_SCENARIOS:
                        run_no += 1
                        steps = await run_task(runtime, site, servers[name], scenario, variant, run_no)
                        for order, run in enumerate(steps, start=1):
                            step = run.step
                            row = StepFigures(
                                variant=name,
                                task=scenario.name,
                                order=order,
                                overhead_ms=step.overhead_ms or 0,
                                browser_action_ms=run.browser_action_ms,
                                appends=run.appends,
                                view_reads=run.view_reads,
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
    print(
        "appends / views: the event log's appends and view reads (those inside an append too) "
        "from the previous step's end to this step's end."
    )
    measured = summaries[MEASURED]
    keys = (
        "step_overhead_ms_p50",
        "log_appends_per_step_median",
        "view_reads_per_step_median",
        "uncached_input_tokens_per_step_median",
        "cached_input_tokens_per_step_median",
        "output_tokens_per_step_median",
        "browser_action_ms_p50",
        "engine_ms_p50",
    )
    figures_out: dict[str, float] = {key: measured[key] for key in keys}
    loop = summaries[LOOP_BASELINE]
    for key in ("step_overhead_ms_p50", "log_appends_per_step_median", "view_reads_per_step_median"):
        figures_out[f"todays_loop_{key}"] = loop[key]
    figures_out["full_snapshot_uncached_input_tokens_per_step_median"] = summaries[TOKENS_BASELINE][
        "uncached_input_tokens_per_step_median"
    ]
    recorded = summaries[RECORDED]
    for key in ("step_overhead_ms_p50", "step_overhead_ms_p90", "engine_ms_p50"):
        figures_out[f"with_video_{key}"] = recorded[key]
    print(json.dumps(figures_out))


if __name__ == "__main__":
    asyncio.run(main())
