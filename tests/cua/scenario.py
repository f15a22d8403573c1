"""The one scripted scenario every computer-use engine runs, and the layout it clicks on."""

from __future__ import annotations

import asyncio
import re
from typing import Any

from altostratus.adapters.browser import BrowserRuntime, SessionConfig
from altostratus.devtools import cua_script as cs

ORDER_PAGE = "/cua/order.html"
PASSWORD = "s3cret-Pa55"
CONFIRMATION = re.compile(r"Order confirmed: (ORD-\d+) for (\w+), plan (\w+), newsletter (\w+)")
ORDER_SCHEMA: dict[str, Any] = {
    "type": "object",
    "properties": {
        "order_id": {"type": "string"},
        "customer": {"type": "string"},
        "plan": {"type": "string"},
        "newsletter": {"type": "boolean"},
    },
    "required": ["order_id", "customer", "plan", "newsletter"],
}
EXPECTED_OUTPUT = {"order_id": "ORD-4417", "customer": "alice", "plan": "team", "newsletter": True}

MEASURE = """() => Object.fromEntries([...document.querySelectorAll('[data-cua]')].map(e => {
  const r = e.getBoundingClientRect(); return [e.dataset.cua, [r.x, r.y, r.width, r.height]]; }))"""


def measure(loop: asyncio.AbstractEventLoop, runtime: BrowserRuntime, url: str) -> cs.Layout:
    """The targets' boxes in real Chromium at the run's viewport (1280x720, scale 1)."""

    async def go() -> dict[str, Any]:
        session = await runtime.new_session(SessionConfig())
        try:
            await session.goto(url)
            boxes: dict[str, Any] = await session.page.evaluate(MEASURE)
            return boxes
        finally:
            await session.close()

    boxes = loop.run_until_complete(go())
    return cs.Layout({k: (v[0], v[1], v[2], v[3]) for k, v in boxes.items()})


def order_script(layout: cs.Layout) -> cs.Script:
    return cs.Script(
        [
            cs.Click("user"),
            cs.Type("alice"),
            cs.Click("pass"),
            cs.Type("{{secret:password}}"),
            cs.Click("signin", expect="signed-in"),
            cs.Click("plan", expect="menu-open"),
            cs.Click("opt-team", expect="plan-team"),
            cs.Click("news", expect="news"),
            cs.Click("dbl", count=2, expect="unlocked"),
            cs.Drag("chip", "bin", expect="dropped"),
            cs.Scroll("user", dy=1800),
            cs.Click("submit", expect="submitted"),
            cs.Done("The order is confirmed."),
        ],
        layout,
    )


def read_confirmation(page_text: str) -> dict[str, Any]:
    """What an extraction model reads off the final page."""
    found = CONFIRMATION.search(page_text)
    if found is None:
        return {"order_id": "", "customer": "", "plan": "", "newsletter": False}
    return {
        "order_id": found.group(1),
        "customer": found.group(2),
        "plan": found.group(3),
        "newsletter": found.group(4) == "yes",
    }
