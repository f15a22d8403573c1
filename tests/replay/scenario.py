"""The replay suite's task (also the bench's): a two-step order form on the fixture site, then
a confirmation page read with a schema. A scripted model plays the agent; `record` runs it on
real Chromium and returns the run's events, which `compile_plan` turns into a plan."""

from __future__ import annotations

import asyncio
import re
from typing import Any

from altostratus.adapters.browser.agent_browser import SessionBrowser
from altostratus.domain import events as ev
from altostratus.engine.agent import run_to_end
from tests.agent.harness import Harness
from tests.fakes.anthropic_server import Reply, ToolUse
from tests.fakes.policies import Page, accept_when, act, agent_policy, done, extract_with
from tests.support.fixture_site import FixtureSite

PAGES = "replay"
PROMPT = "Order the Team plan for Ada Lovelace (ada@example.com) and tell me the confirmation."
ORDER_SCHEMA: dict[str, Any] = {
    "type": "object",
    "properties": {
        "confirmation": {"type": "string", "pattern": "^ORD-\\d{6}$"},
        "name": {"type": "string"},
        "plan": {"type": "string", "enum": ["Basic", "Team", "Enterprise"]},
        "monthly_total": {"type": "number"},
    },
    "required": ["confirmation", "name", "plan", "monthly_total"],
    "additionalProperties": False,
}
PRICES = {"Basic": 9.0, "Team": 49.0, "Enterprise": 199.0}


def confirmation_number(name: str, email: str, plan: str) -> str:
    """What the fixture's confirmation page computes (the same order, the same number)."""
    value = 7
    for char in f"{name}|{email}|{plan}":
        value = (value * 31 + ord(char)) % 1_000_000
    return f"ORD-{value:06d}"


def expected_output(name: str, email: str, plan: str) -> dict[str, Any]:
    return {
        "confirmation": confirmation_number(name, email, plan),
        "name": name,
        "plan": plan,
        "monthly_total": PRICES[plan],
    }


def order(page: Page) -> Reply:
    if page.sees("Order confirmed"):
        return done("The order is confirmed.")
    if page.sees("Choose your plan"):
        return act(
            ToolUse("select", {"element": page.element("Plan"), "option": "Team"}),
            ToolUse("check", {"element": page.element("accept the terms")}),
            ToolUse("click", {"element": page.element("Place order", role="button")}),
            thought="Step 2: plan and terms.",
        )
    return act(
        ToolUse("type", {"element": page.element("Full name"), "text": "Ada Lovelace"}),
        ToolUse("type", {"element": page.element("Email"), "text": "ada@example.com"}),
        ToolUse("click", {"element": page.element("Next", role="button")}),
        thought="Step 1: name and email.",
    )


def read_order(markdown: str) -> dict[str, Any]:
    """What a model reads off the confirmation page's markdown."""
    confirmation = re.search(r"ORD-\d{6}", markdown)
    name = re.search(r"Name\W+([^\n]+)", markdown)
    plan = re.search(r"Plan\W+(Basic|Team|Enterprise)", markdown)
    total = re.search(r"Total\W+\$([\d.]+)", markdown)
    assert confirmation and name and plan and total, markdown
    return {
        "confirmation": confirmation.group(0),
        "name": name.group(1).strip(),
        "plan": plan.group(1),
        "monthly_total": float(total.group(1)),
    }


POLICY = agent_policy(order, verifier=accept_when("Order confirmed"), extractor=extract_with(read_order))


def record(
    harness: Harness,
    loop: asyncio.AbstractEventLoop,
    site: FixtureSite,
    browser: SessionBrowser,
    run_id: str = "tsk_v2_replay",
) -> list[ev.Event]:
    """Run the task as an AI run (the scripted model) and return its events."""
    harness.server.set_policy(POLICY)
    run_id = harness.create_run(
        run_id,
        prompt=PROMPT,
        url=site.url(f"{PAGES}/order-1.html"),
        data_extraction_schema=ORDER_SCHEMA,
    )
    view = loop.run_until_complete(run_to_end(harness.deps, run_id, browser=browser))
    if view.failure_reason:
        raise AssertionError(f"the recorded run did not complete: {view.status} {view.failure_reason}")
    return harness.events(run_id)
