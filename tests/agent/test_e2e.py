"""End to end: real Chromium on the fixture site, the real anthropic SDK against the fake
Messages server playing the model, the SQLite event log and file artifacts."""

from __future__ import annotations

import asyncio
import re
from typing import Any

import jsonschema
import pytest

from altostratus.adapters.browser.agent_browser import SessionBrowser
from altostratus.domain import events as ev
from altostratus.domain.enums import ArtifactType, RunStatus
from altostratus.domain.view import RunView
from altostratus.engine.agent import run_to_end
from tests.agent import scenarios as sc
from tests.agent.harness import Harness
from tests.fakes.anthropic_server import Reply, ToolUse
from tests.fakes.policies import Page, accept_when, act, done
from tests.support.fixture_site import FixtureSite

pytestmark = pytest.mark.browser


def run_scenario(
    h: Harness,
    loop: asyncio.AbstractEventLoop,
    site: FixtureSite,
    browser: SessionBrowser,
    scenario: sc.Scenario,
    **request: Any,
) -> tuple[str, RunView]:
    run_id = h.create_run(
        prompt=scenario.prompt,
        url=site.url(f"{sc.AGENT_PAGES}/{scenario.start}"),
        **{**scenario.request, **request},
    )
    h.server.set_policy(scenario.policy())
    loop.run_until_complete(run_to_end(h.deps, run_id, browser=browser))
    return run_id, h.view(run_id)


def test_structured_extraction_validates_against_the_schema(
    harness: Harness, browser_loop: asyncio.AbstractEventLoop, site: FixtureSite, chromium: SessionBrowser
) -> None:
    # GIVEN a run asking for product details with a data_extraction_schema
    # WHEN the agent opens the product and finishes
    _run_id, view = run_scenario(harness, browser_loop, site, chromium, sc.EXTRACTION)
    # THEN the output is what the page says, and it validates against the schema
    assert view.status is RunStatus.COMPLETED, view.failure_reason
    assert view.output == {"name": "Desk lamp", "sku": "LMP-204", "price": 34.99, "units_in_stock": 12}
    jsonschema.validate(view.output, sc.PRODUCT_SCHEMA)
    extraction_calls = [
        e for e in harness.server.successful() if e.body.get("tool_choice", {}).get("type") == "tool"
    ]
    assert any(c.body["tools"][0]["input_schema"] == sc.PRODUCT_SCHEMA for c in extraction_calls)


def test_a_multi_step_form_is_filled_and_submitted(
    harness: Harness, browser_loop: asyncio.AbstractEventLoop, site: FixtureSite, chromium: SessionBrowser
) -> None:
    run_id, view = run_scenario(harness, browser_loop, site, chromium, sc.FORM)
    assert view.status is RunStatus.COMPLETED, view.failure_reason
    # The confirmation page shows what was typed and chosen.
    final_text = browser_loop.run_until_complete(chromium.markdown())
    assert "Ada Lovelace" in final_text and "ada@example.com" in final_text and "team" in final_text
    # Each AI step is a timeline entry with its actions, reasoning and screenshots.
    steps = [e.block for e in harness.timeline(run_id) if e.block is not None]
    assert len(steps) == 3
    assert [a.action_type for a in steps[0].actions] == ["input_text", "input_text", "click"]
    assert [a.action_type for a in steps[1].actions] == ["select_option", "checkbox", "click"]
    assert steps[0].actions[0].reasoning and steps[0].screenshot_artifact_ids
    kinds = {a.artifact_type for a in harness.of_type(run_id, ev.ArtifactStored)}
    assert {
        ArtifactType.SCREENSHOT_LLM,
        ArtifactType.SCREENSHOT_ACTION,
        ArtifactType.SCREENSHOT_FINAL,
        ArtifactType.LLM_REQUEST,
        ArtifactType.LLM_RESPONSE,
        ArtifactType.VISIBLE_ELEMENTS_TREE_IN_PROMPT,
        ArtifactType.HTML_SCRAPE,
    } <= kinds
    assert all(f.usage.llm_calls >= 1 for f in harness.of_type(run_id, ev.StepFinished))


def test_following_links_finds_a_value(
    harness: Harness, browser_loop: asyncio.AbstractEventLoop, site: FixtureSite, chromium: SessionBrowser
) -> None:
    _run_id, view = run_scenario(harness, browser_loop, site, chromium, sc.LINKS)
    assert view.status is RunStatus.COMPLETED, view.failure_reason
    assert view.output == "WR-7731-K"
    assert view.step_count == 3


def test_the_html_of_every_page_the_agent_was_shown_is_stored_once(
    harness: Harness, browser_loop: asyncio.AbstractEventLoop, site: FixtureSite, chromium: SessionBrowser
) -> None:
    # GIVEN a run that goes from the shop to a product and on to its warranty page
    run_id, view = run_scenario(harness, browser_loop, site, chromium, sc.LINKS)
    assert view.status is RunStatus.COMPLETED, view.failure_reason
    # THEN each of the three documents' HTML is stored once, in the order they were visited
    scrapes = [
        a for a in harness.of_type(run_id, ev.ArtifactStored) if a.artifact_type is ArtifactType.HTML_SCRAPE
    ]
    titles = []
    for scrape in scrapes:
        html = harness.artifacts.get(scrape.uri).decode()
        titles.append(html.split("<title>", 1)[1].split("</title>", 1)[0].split(" \N{EN DASH} ")[0])
    assert titles == ["Gadget Shop", "Electric kettle", "Warranty"]
    assert "WR-7731-K" in harness.artifacts.get(scrapes[-1].uri).decode()


def test_an_impossible_goal_terminates_with_the_users_error_code(
    harness: Harness, browser_loop: asyncio.AbstractEventLoop, site: FixtureSite, chromium: SessionBrowser
) -> None:
    _run_id, view = run_scenario(harness, browser_loop, site, chromium, sc.OUT_OF_STOCK)
    assert view.status is RunStatus.TERMINATED
    assert view.failure_reason and "out of stock" in view.failure_reason
    assert [(e.error_code, e.error_type) for e in view.errors] == [("OUT_OF_STOCK", "USER_DEFINED_ERROR")]


def test_max_steps_ends_the_run_timed_out(
    harness: Harness, browser_loop: asyncio.AbstractEventLoop, site: FixtureSite, chromium: SessionBrowser
) -> None:
    def wander(page: Page) -> Reply:
        if "Desk lamp" in page.title:
            return act(sc.click(page.element("Back to the catalogue", role="link")))
        return act(sc.click(page.element("Desk lamp", role="link")))

    scenario = sc.Scenario(name="wander", prompt="Look around the shop", start="shop.html", agent=wander)
    _run_id, view = run_scenario(harness, browser_loop, site, chromium, scenario, max_steps=3)
    assert view.status is RunStatus.TIMED_OUT
    assert view.failure_reason == "Reached the maximum steps (3) before the goal was achieved."
    assert [e.error_code for e in view.errors] == ["REACH_MAX_STEPS"]
    assert view.step_count == 3


def test_a_malformed_tool_call_and_an_unknown_element_id_are_recovered_from(
    harness: Harness, browser_loop: asyncio.AbstractEventLoop, site: FixtureSite, chromium: SessionBrowser
) -> None:
    told: list[str] = []

    def clumsy(page: Page) -> Reply:
        if page.turn == 0:
            return act(ToolUse("click", {"elem": "e1"}))  # not the tool's schema
        if page.turn == 1:
            told.append(page.result_of("click") or "")
            return act(sc.click("e999"))  # no such element
        if page.turn == 2:
            told.append(page.result_of("click") or "")
        return sc.find_the_warranty_code(page)

    scenario = sc.Scenario(
        name="clumsy",
        prompt=sc.LINKS.prompt,
        start="shop.html",
        agent=clumsy,
        verifier=accept_when("WR-7731-K"),
    )
    run_id, view = run_scenario(harness, browser_loop, site, chromium, scenario)
    assert view.status is RunStatus.COMPLETED, view.failure_reason
    assert view.output == "WR-7731-K"
    assert "Invalid input for click" in told[0] and "'element' is a required property" in told[0]
    assert "element_not_found" in told[1]
    statuses = [a.status for a in harness.of_type(run_id, ev.ActionExecuted)]
    assert statuses[:3] == ["failed", "failed", "completed"]


def test_429_500_and_529_answers_are_retried(
    harness: Harness, browser_loop: asyncio.AbstractEventLoop, site: FixtureSite, chromium: SessionBrowser
) -> None:
    harness.server.fail_next(429, 500, 529)
    _run_id, view = run_scenario(harness, browser_loop, site, chromium, sc.LINKS)
    assert view.status is RunStatus.COMPLETED, view.failure_reason
    assert view.output == "WR-7731-K"
    assert [e.status for e in harness.server.exchanges[:4]] == [429, 500, 529, 200]


def test_a_page_telling_the_model_to_ignore_its_instructions_changes_nothing(
    harness: Harness, browser_loop: asyncio.AbstractEventLoop, site: FixtureSite, chromium: SessionBrowser
) -> None:
    run_id, view = run_scenario(harness, browser_loop, site, chromium, sc.INJECTION)
    assert view.status is RunStatus.COMPLETED, view.failure_reason
    assert view.output == "ORD-5521" and view.errors == ()
    assert "navigate" not in [a.tool for a in harness.of_type(run_id, ev.ActionPlanned)]
    # The page's text reached the model, but only inside the data fence.
    first = harness.agent_requests()[0]["messages"][0]["content"]
    observation = next(b["text"] for b in first if b.get("type") == "text" and "IGNORE" in b["text"])
    assert "IGNORE ALL PREVIOUS INSTRUCTIONS" not in sc.unfenced(observation)


def test_a_false_done_is_rejected_by_the_verifier(
    harness: Harness, browser_loop: asyncio.AbstractEventLoop, site: FixtureSite, chromium: SessionBrowser
) -> None:
    def hasty(page: Page) -> Reply:
        if page.turn == 0:
            return done("The code is WR-0000-X", answer="WR-0000-X")
        return sc.find_the_warranty_code(page)

    scenario = sc.Scenario(
        name="hasty",
        prompt=sc.LINKS.prompt,
        start="shop.html",
        agent=hasty,
        verifier=accept_when("WR-7731-K"),
    )
    run_id, view = run_scenario(harness, browser_loop, site, chromium, scenario)
    assert view.status is RunStatus.COMPLETED, view.failure_reason
    assert view.output == "WR-7731-K"
    assert [c.accepted for c in harness.of_type(run_id, ev.CompletionChecked)] == [False, True]
    checks = [
        e.thought
        for e in harness.timeline(run_id)
        if e.thought and e.thought.thought_type == "user_goal_check"
    ]
    assert checks[0].answer and "missing" in checks[0].answer
    assert re.search(r"WR-7731-K", str(view.output))


def test_a_password_is_typed_but_never_sent_to_the_model_or_recorded(
    harness: Harness, browser_loop: asyncio.AbstractEventLoop, site: FixtureSite, chromium: SessionBrowser
) -> None:
    # GIVEN a secret password, and a careless site that sends its login form with GET
    secret = "correct horse 42"
    harness.with_secrets({"password": secret})

    def log_in(page: Page) -> Reply:
        if page.sees("Welcome back"):
            return done("Signed in as alice.")
        return act(
            sc.type_text(page.element("Username"), "alice"),
            sc.type_text(page.element("Password"), "{{secret:password}}"),
            sc.click(page.element("Sign in", role="button")),
        )

    scenario = sc.Scenario(
        name="login",
        prompt="Sign in as alice.",
        start="login.html",
        agent=log_in,
        verifier=accept_when("Welcome back"),
    )
    # WHEN the agent signs in
    run_id, view = run_scenario(harness, browser_loop, site, chromium, scenario)
    # THEN the site accepted the real password, which no request, event or artifact contains
    assert view.status is RunStatus.COMPLETED, view.failure_reason
    encoded = ("correct+horse+42", "correct%20horse%2042")
    for body in harness.server.requests_text():
        assert secret not in body and not any(e in body for e in encoded)
    recorded = harness.everything_recorded(run_id)
    assert secret not in recorded and not any(e in recorded for e in encoded)
    assert "{{secret:password}}" in recorded
