"""Computer-use bench: per engine, the engine's own time per step, screenshot bytes and input
tokens per step, on the scripted order scenario.

Each engine (openai-cua, anthropic-cua, ui-tars) runs the order scenario of the tests (real
Chromium, the fixture site, the provider's real SDK against its fake server answering with
zero delay). Per step it prints the time outside the model's latency (screenshot, pixel
actions with their effect reports, recording), the screenshot's bytes and the input tokens the
model was sent (the fakes' estimates). The baseline, measured in the same process, is the bare
floor of a screenshot step: one viewport screenshot and one mouse click through the browser
layer, with nothing recorded.

Usage: `.venv/bin/python bench/cua.py` (no arguments). The last line is one JSON object with
`<engine>_step_overhead_ms_p50` and `<engine>_image_bytes_per_step_median` for each engine.
"""

from __future__ import annotations

import asyncio
import dataclasses
import json
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from altostratus.adapters.browser import BrowserRuntime, SessionConfig  # noqa: E402
from altostratus.adapters.browser.agent_browser import SessionBrowser  # noqa: E402
from altostratus.adapters.openai_api import OpenAIApi  # noqa: E402
from altostratus.devtools import cua_script as cs  # noqa: E402
from altostratus.devtools.fake_anthropic.computer import with_extraction  # noqa: E402
from altostratus.devtools.fake_anthropic.policies import extract_with  # noqa: E402
from altostratus.devtools.fake_openai.server import FakeOpenAIServer  # noqa: E402
from altostratus.domain import events as ev  # noqa: E402
from altostratus.domain.enums import ArtifactType, Engine  # noqa: E402
from altostratus.engine.agent import run_to_end  # noqa: E402
from altostratus.ports.computer import PixelClick  # noqa: E402
from tests.agent.harness import make_harness  # noqa: E402
from tests.cua import scenario as sc  # noqa: E402
from tests.fakes.anthropic_server import FakeAnthropicServer  # noqa: E402
from tests.support.fixture_site import FixtureSite  # noqa: E402

ROUNDS = 2
ENGINES = (Engine.OPENAI_CUA, Engine.ANTHROPIC_CUA, Engine.UI_TARS)


def p50(values: list[float]) -> float:
    return float(statistics.median(values)) if values else 0.0


async def run_engine(
    runtime: BrowserRuntime, site: FixtureSite, layout: cs.Layout, engine: Engine, run_no: int
) -> list[tuple[int, int, int]]:
    """(overhead ms, screenshot bytes, input tokens) of each step of one run."""
    script = sc.order_script(layout)
    with (
        tempfile.TemporaryDirectory() as tmp,
        FakeAnthropicServer(with_extraction(script, extract_with(sc.read_confirmation))) as anthropic,
        FakeOpenAIServer(script) as other,
    ):
        harness = make_harness(Path(tmp), anthropic)
        client = OpenAIApi(api_key=other.api_key, base_url=other.base_url)
        deps = dataclasses.replace(
            harness.deps, responses=client, chat=client, secrets=lambda view: {"password": sc.PASSWORD}
        )
        run_id = harness.create_run(
            f"tsk_{run_no}",
            prompt="Place the order.",
            url=site.url(sc.ORDER_PAGE),
            engine=engine,
            max_steps=20,
            data_extraction_schema=sc.ORDER_SCHEMA,
        )
        session = await runtime.new_session(SessionConfig(download_dir=Path(tmp) / "downloads"))
        try:
            view = await run_to_end(deps, run_id, browser=SessionBrowser(session))
        finally:
            await session.close()
        if view.output != sc.EXPECTED_OUTPUT:
            raise RuntimeError(f"{engine}: {view.status} {view.failure_reason} {view.output}")
        shots = {
            a.step_id: a.file_size or 0
            for a in harness.of_type(run_id, ev.ArtifactStored)
            if a.artifact_type is ArtifactType.SCREENSHOT_LLM
        }
        rows = [
            (
                s.overhead_ms or 0,
                shots.get(s.step_id, 0),
                s.usage.input_tokens + s.usage.cached_input_tokens + s.usage.cache_write_tokens,
            )
            for s in harness.of_type(run_id, ev.StepFinished)
        ]
        harness.close()
        return rows


async def baseline(runtime: BrowserRuntime, site: FixtureSite, layout: cs.Layout, steps: int) -> list[float]:
    """A screenshot and a click, with nothing recorded: the floor of a computer-use step."""
    session = await runtime.new_session(SessionConfig())
    times = []
    try:
        await session.goto(site.url(sc.ORDER_PAGE))
        x, y = layout.center("news")
        for _ in range(steps):
            started = time.perf_counter()
            await session.screenshot()
            await session.act_pixels(PixelClick(x=x, y=y))
            times.append((time.perf_counter() - started) * 1000)
    finally:
        await session.close()
    return times


async def main() -> None:
    results: dict[str, float] = {}
    with FixtureSite() as site:
        runtime = await BrowserRuntime.launch_local()
        try:
            session = await runtime.new_session(SessionConfig())
            await session.goto(site.url(sc.ORDER_PAGE))
            boxes = await session.page.evaluate(sc.MEASURE)
            await session.close()
            layout = cs.Layout({k: (v[0], v[1], v[2], v[3]) for k, v in boxes.items()})
            await run_engine(runtime, site, layout, Engine.ANTHROPIC_CUA, 0)  # warm-up
            floor = await baseline(runtime, site, layout, 20)
            print(
                f"{'engine':<14} {'steps':>5} {'overhead p50 ms':>16} {'p90':>6} "
                f"{'image bytes':>12} {'input tok':>10}"
            )
            print(
                f"{'baseline':<14} {len(floor):>5} {p50(floor):>16.0f} "
                f"{sorted(floor)[int(0.9 * (len(floor) - 1))]:>6.0f}"
            )
            run_no = 0
            for engine in ENGINES:
                rows: list[tuple[int, int, int]] = []
                for _ in range(ROUNDS):
                    run_no += 1
                    rows += await run_engine(runtime, site, layout, engine, run_no)
                overhead = sorted(float(r[0]) for r in rows)
                name = engine.sdk_name
                results[f"{name}_step_overhead_ms_p50"] = p50(overhead)
                results[f"{name}_image_bytes_per_step_median"] = p50([float(r[1]) for r in rows if r[1]])
                results[f"{name}_input_tokens_per_step_median"] = p50([float(r[2]) for r in rows])
                print(
                    f"{engine.value:<14} {len(rows):>5} {p50(overhead):>16.0f} "
                    f"{overhead[int(0.9 * (len(overhead) - 1))]:>6.0f} "
                    f"{results[f'{name}_image_bytes_per_step_median']:>12.0f} "
                    f"{results[f'{name}_input_tokens_per_step_median']:>10.0f}"
                )
            results["baseline_screenshot_click_ms_p50"] = p50(floor)
        finally:
            await runtime.close()
    print(
        "overhead: step time outside the model's latency (target p50 <= 200 ms); tokens: the fakes' estimates"
    )
    print(json.dumps(results))


if __name__ == "__main__":
    asyncio.run(main())
