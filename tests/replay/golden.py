"""The golden files: one recorded run of the order task (its events, with the fixture site's
origin replaced by a fixed one), the plan it compiles to, and that plan's `main.py`.

Regenerate with `python -m tests.replay.golden` (records a fresh run on real Chromium) when
the recording or the plan format changes on purpose; the tests say which file is stale.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from pathlib import Path

from altostratus.domain import events as ev

HERE = Path(__file__).resolve().parent / "golden"
EVENTS = HERE / "order.events.jsonl"
PLAN = HERE / "order.plan.json"
MAIN = HERE / "order.main.py.txt"
ORIGIN = "http://fixture.test"


def normalise(events: Sequence[ev.Event], origin: str) -> list[ev.Event]:
    """The events with the live fixture site's origin replaced by `ORIGIN`."""
    return [ev.decode_event(ev.encode_event(e).replace(origin, ORIGIN)) for e in events]


def load_events() -> list[ev.Event]:
    return [ev.decode_event(line) for line in EVENTS.read_text().splitlines() if line.strip()]


def dump_events(events: Sequence[ev.Event]) -> str:
    return "".join(ev.encode_event(e) + "\n" for e in events)


def _regenerate() -> None:  # pragma: no cover - a developer tool
    import asyncio
    import tempfile

    from altostratus.adapters.browser import BrowserRuntime, SessionConfig
    from altostratus.adapters.browser.agent_browser import SessionBrowser
    from altostratus.domain.replay.compile import compile_plan
    from altostratus.domain.replay.export import export_playwright
    from tests.agent.harness import make_harness
    from tests.fakes.anthropic_server import FakeAnthropicServer
    from tests.replay import scenario
    from tests.support.fixture_site import FixtureSite

    loop = asyncio.new_event_loop()
    with (
        FixtureSite() as site,
        tempfile.TemporaryDirectory() as tmp,
        FakeAnthropicServer(scenario.POLICY) as srv,
    ):
        runtime = loop.run_until_complete(BrowserRuntime.launch_local())
        harness = make_harness(Path(tmp), srv)
        session = loop.run_until_complete(runtime.new_session(SessionConfig(download_dir=Path(tmp) / "d")))
        try:
            events = scenario.record(harness, loop, site, SessionBrowser(session))
        finally:
            loop.run_until_complete(session.close())
            loop.run_until_complete(runtime.close())
            harness.close()
        events = normalise(events, site.main_origin)
    HERE.mkdir(exist_ok=True)
    EVENTS.write_text(dump_events(events))
    plan = compile_plan(events)
    PLAN.write_text(plan.to_json())
    MAIN.write_text(export_playwright(plan))
    print(json.dumps({"events": len(events), "steps": len(plan.steps)}))


if __name__ == "__main__":  # pragma: no cover
    _regenerate()
