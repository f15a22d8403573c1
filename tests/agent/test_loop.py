"""The loop's behaviour, with the real SDK against the fake server and an in-memory browser."""

from __future__ import annotations

import asyncio
import json
import re
from dataclasses import replace

from altostratus.adapters.anthropic_llm import AnthropicLLM
from altostratus.domain import events as ev
from altostratus.domain.enums import Engine, RunStatus
from altostratus.engine.agent import AgentState, run_slice, run_to_end
from tests.agent.fake_browser import El, FakeBrowser, FakePage
from tests.agent.harness import Harness
from tests.fakes.anthropic_server import MessagesRequest, Reply, Text, ToolUse
from tests.fakes.policies import (
    Page,
    accept_all,
    accept_when,
    act,
    agent_policy,
    done,
    extract_with,
    terminate,
)

SHOP = "http://shop.test/"
PRODUCTS = "http://shop.test/products"


def shop() -> FakeBrowser:
    return FakeBrowser(
        pages={
            SHOP: FakePage(
                "Shop", [El("e1", "link", "Products", href=PRODUCTS), El("e2", "button", "Do nothing")]
            ),
            PRODUCTS: FakePage(
                "Products", [El("e3", "link", "Home", href=SHOP)], text="Widget price: $42.50"
            ),
            "http://shop.test/login": FakePage(
                "Login",
                [
                    El("e4", "textbox", "Username"),
                    El("e5", "password", "Password"),
                    El("e6", "button", "Sign in", submit_to="http://shop.test/welcome"),
                ],
            ),
            "http://shop.test/welcome": FakePage("Welcome", [], text="Welcome back"),
        }
    )


def run(h: Harness, run_id: str, browser: FakeBrowser) -> None:
    asyncio.run(run_to_end(h.deps, run_id, browser=browser))


def go_to_products_then_done(page: Page) -> Reply:
    if page.url == PRODUCTS:
        return done("The products page shows the price.")
    return act(ToolUse("click", {"element_id": page.element("Products", role="link")}))


def test_a_run_follows_a_link_and_returns_output_validated_against_the_schema(harness: Harness) -> None:
    h = harness
    # GIVEN a run asking for the price with a schema
    schema = {"type": "object", "properties": {"price": {"type": "number"}}, "required": ["price"]}
    run_id = h.create_run(prompt="Find the widget price", url=SHOP, data_extraction_schema=schema)

    def price(markdown: str) -> dict[str, float]:
        match = re.search(r"\$([\d.]+)", markdown)
        assert match, markdown
        return {"price": float(match.group(1))}

    h.server.set_policy(
        agent_policy(go_to_products_then_done, verifier=accept_when("42.50"), extractor=extract_with(price))
    )
    # WHEN it runs
    run(h, run_id, shop())
    # THEN it completed with the price read from the page, and each step is in the timeline
    view = h.view(run_id)
    assert view.status is RunStatus.COMPLETED, view.failure_reason
    assert view.output == {"price": 42.5}
    steps = [e for e in h.timeline(run_id) if e.type == "block"]
    assert len(steps) == 2 and all(s.status == "completed" for s in steps)
    assert steps[0].block is not None and steps[0].block.actions[0].action_type == "click"
    assert view.usage.input_tokens > 0 and view.usage.llm_calls >= 4


def test_max_steps_ends_the_run_timed_out_with_reach_max_steps(harness: Harness) -> None:
    h = harness
    run_id = h.create_run(prompt="Wander", url=SHOP, max_steps=3)

    def wander(page: Page) -> Reply:
        target = "Products" if page.url == SHOP else "Home"
        return act(ToolUse("click", {"element_id": page.element(target, role="link")}))

    h.server.set_policy(agent_policy(wander))
    run(h, run_id, shop())
    view = h.view(run_id)
    assert view.status is RunStatus.TIMED_OUT
    assert view.failure_reason and "maximum steps (3)" in view.failure_reason
    assert [e.error_code for e in view.errors] == ["REACH_MAX_STEPS"]
    assert view.step_count == 3


def test_repeating_an_action_on_an_unchanged_page_nudges_then_stops_with_a_reason(harness: Harness) -> None:
    h = harness
    run_id = h.create_run(prompt="Press the button until something happens", url=SHOP, max_steps=10)
    seen_notes: list[str] = []

    def stubborn(page: Page) -> Reply:
        seen_notes.append(page.engine_notes())
        return act(ToolUse("click", {"element_id": page.element("Do nothing", role="button")}))

    h.server.set_policy(agent_policy(stubborn))
    run(h, run_id, shop())
    view = h.view(run_id)
    assert view.status is RunStatus.FAILED
    assert view.failure_reason and "repeated the same action" in view.failure_reason
    assert "click" in view.failure_reason
    assert "did not change" in seen_notes[2]  # the nudge after the second identical click
    assert "re-plan" in seen_notes[3]
    assert view.step_count == 4


def test_a_malformed_tool_call_and_an_unknown_element_are_reported_back_and_recovered(
    harness: Harness,
) -> None:
    h = harness
    run_id = h.create_run(prompt="Open the products page", url=SHOP, engine=Engine.SKYVERN_V1)
    errors_seen: list[str] = []

    def clumsy(page: Page) -> Reply:
        if page.url == PRODUCTS:
            return done("On the products page")
        if page.turn == 0:
            return act(ToolUse("click", {"element": "e1"}))  # wrong argument name
        errors_seen.append(page.result_of("click") or "")
        if page.turn == 1:
            return act(ToolUse("click", {"element_id": "e999"}))
        return act(ToolUse("click", {"element_id": page.element("Products")}))

    h.server.set_policy(agent_policy(clumsy))
    run(h, run_id, shop())
    view = h.view(run_id)
    assert view.status is RunStatus.COMPLETED, view.failure_reason
    assert "element_id" in errors_seen[0] and "required" in errors_seen[0]
    assert "e999" in errors_seen[1]
    executed = h.of_type(run_id, ev.ActionExecuted)
    assert [a.status for a in executed[:3]] == ["failed", "failed", "completed"]


def test_a_false_done_is_rejected_and_the_agent_continues(harness: Harness) -> None:
    h = harness
    run_id = h.create_run(prompt="Find the widget price", url=SHOP)
    told: list[str] = []

    def overconfident(page: Page) -> Reply:
        if page.turn == 0:
            return done("I am sure it is done")
        if page.turn == 1:
            told.append(page.result_of("done") or "")
            return act(ToolUse("click", {"element_id": page.element("Products")}))
        return done("The price is shown", answer="$42.50")

    h.server.set_policy(agent_policy(overconfident, verifier=accept_when("Widget price")))
    run(h, run_id, shop())
    view = h.view(run_id)
    assert view.status is RunStatus.COMPLETED
    assert view.output == "$42.50"
    assert "not accepted" in told[0] and "Widget price" in told[0]
    checks = h.of_type(run_id, ev.CompletionChecked)
    assert [c.accepted for c in checks] == [False, True]


def test_terminate_with_a_user_error_code(harness: Harness) -> None:
    h = harness
    codes = {"NOT_FOUND": "the product does not exist", "LOGIN_REQUIRED": "a login is needed"}
    run_id = h.create_run(prompt="Buy the gadget", url=SHOP, error_code_mapping=codes)
    offered: list[list[str]] = []

    def gives_up(page: Page) -> Reply:
        schema = page.request.tool_schema("terminate")
        offered.append(schema["properties"]["error_code"]["enum"])
        return terminate("The shop lists no gadget", "NOT_FOUND")

    h.server.set_policy(agent_policy(gives_up))
    run(h, run_id, shop())
    view = h.view(run_id)
    assert view.status is RunStatus.TERMINATED
    assert offered[0] == ["LOGIN_REQUIRED", "NOT_FOUND"]
    assert [(e.error_code, e.error_type) for e in view.errors] == [("NOT_FOUND", "USER_DEFINED_ERROR")]


def test_a_failed_run_with_error_codes_gets_them_classified(harness: Harness) -> None:
    h = harness
    run_id = h.create_run(
        prompt="Press it", url=SHOP, error_code_mapping={"STUCK": "the page does not react"}
    )

    def stubborn(page: Page) -> Reply:
        return act(ToolUse("click", {"element_id": page.element("Do nothing")}))

    h.server.set_policy(agent_policy(stubborn))
    run(h, run_id, shop())
    view = h.view(run_id)
    assert view.status is RunStatus.FAILED
    assert [e.error_code for e in view.errors] == ["STUCK"]


def test_secrets_are_typed_but_never_sent_or_recorded(harness: Harness) -> None:
    h = harness
    secret = "hunter2-Sup3rS3cret"
    h.with_secrets({"password": secret})
    run_id = h.create_run(prompt="Log in as alice", url="http://shop.test/login")

    def login(page: Page) -> Reply:
        if "Welcome back" in page.observation:
            return done("Logged in")
        return act(
            ToolUse("type_text", {"element_id": page.element("Username"), "text": "alice"}),
            ToolUse("type_text", {"element_id": page.element("Password"), "text": "{{secret:password}}"}),
            ToolUse("click", {"element_id": page.element("Sign in")}),
        )

    browser = shop()
    h.server.set_policy(agent_policy(login))
    run(h, run_id, browser)
    assert h.view(run_id).status is RunStatus.COMPLETED
    assert browser.typed == ["alice", secret]
    assert all(secret not in body for body in h.server.requests_text())
    assert secret not in h.everything_recorded(run_id)
    assert "{{secret:password}}" in h.server.requests_text().__next__()


def test_a_model_that_stays_unavailable_fails_the_run_with_a_clear_reason(harness: Harness) -> None:
    h = harness
    run_id = h.create_run(prompt="Anything", url=SHOP)
    h.server.set_policy(agent_policy(go_to_products_then_done))
    h.server.fail_next(*([529] * 10))
    run(h, run_id, shop())
    view = h.view(run_id)
    assert view.status is RunStatus.FAILED
    assert view.failure_reason == "the Anthropic API stayed overloaded (529); gave up after 4 attempts"


def test_a_cancel_requested_between_steps_ends_the_run_canceled(harness: Harness) -> None:
    h = harness
    run_id = h.create_run(prompt="Wander", url=SHOP)

    def wander_then_cancel(page: Page) -> Reply:
        if page.turn == 1:
            h.event_log.append(run_id, [ev.Draft(data=ev.RunCancelRequested(reason="user"))])
        target = "Products" if page.url == SHOP else "Home"
        return act(ToolUse("click", {"element_id": page.element(target)}))

    h.server.set_policy(agent_policy(wander_then_cancel))
    run(h, run_id, shop())
    view = h.view(run_id)
    assert view.status is RunStatus.CANCELED
    assert view.step_count == 2
    executed = h.of_type(run_id, ev.ActionExecuted)
    assert executed[-1].status == "skipped"  # the action planned after the cancel did not run


def test_a_run_continues_across_slices_from_a_serialized_checkpoint(harness: Harness) -> None:
    h = harness
    now = [0.0]
    h.deps = replace(h.deps, monotonic=lambda: now[0])
    run_id = h.create_run(prompt="Open products", url=SHOP)

    def slow(page: Page) -> Reply:
        now[0] += 50.0  # each model call "takes" 50 s of the slice
        return go_to_products_then_done(page)

    h.server.set_policy(agent_policy(slow))
    first_browser = shop()
    first = asyncio.run(run_slice(h.deps, run_id, browser=first_browser, deadline=100.0))
    assert first.continue_ and first.outcome is None
    checkpoint = first.state.dumps()

    # A new process: a new browser restored at the same page, the state loaded from bytes.
    restored = shop()
    restored.url = first_browser.url
    second = asyncio.run(
        run_slice(
            h.deps, run_id, browser=restored, deadline=now[0] + 1000, state=AgentState.loads(checkpoint)
        )
    )
    assert not second.continue_ and second.outcome is not None
    assert second.outcome.status is RunStatus.COMPLETED
    orders = [s.order for s in h.of_type(run_id, ev.StepStarted)]
    assert orders == [1, 2]
    last_call = h.agent_requests()[-1]
    assert len(last_call["messages"]) == 3  # the conversation went on: user, assistant, user


def test_a_slice_retried_from_the_same_checkpoint_records_nothing_twice(harness: Harness) -> None:
    h = harness
    now = [0.0]
    h.deps = replace(h.deps, monotonic=lambda: now[0])
    run_id = h.create_run(prompt="Open products", url=SHOP)

    def slow(page: Page) -> Reply:
        now[0] += 50.0
        return go_to_products_then_done(page)

    h.server.set_policy(agent_policy(slow))
    checkpoint = AgentState(run_id=run_id, next_step_id="stp_1").dumps()
    for _attempt in range(2):  # the same slice, e.g. a Lambda retried after a timeout
        now[0] = 0.0
        asyncio.run(
            run_slice(h.deps, run_id, browser=shop(), deadline=100.0, state=AgentState.loads(checkpoint))
        )
    assert [s.step_id for s in h.of_type(run_id, ev.StepStarted)] == ["stp_1"]
    assert len(h.of_type(run_id, ev.StepFinished)) == 1


def test_skyvern_2_keeps_a_checklist_shown_as_timeline_thoughts(harness: Harness) -> None:
    h = harness
    run_id = h.create_run(prompt="Find the widget price", url=SHOP, engine=Engine.SKYVERN_V2)

    def planner(page: Page) -> Reply:
        if page.turn == 0:
            plan = {
                "thought": "Price is probably on the products page",
                "items": [
                    {"subgoal": "Open products", "status": "in_progress"},
                    {"subgoal": "Read the price", "status": "pending"},
                ],
            }
            return Reply.of(
                Text("Planning."),
                ToolUse("update_checklist", plan),
                ToolUse("click", {"element_id": page.element("Products")}),
            )
        assert "[~] Open products" in page.observation
        return done("Price shown", answer="42.50")

    h.server.set_policy(agent_policy(planner))
    run(h, run_id, shop())
    assert h.view(run_id).status is RunStatus.COMPLETED
    thoughts = [e.thought for e in h.timeline(run_id) if e.type == "thought" and e.thought is not None]
    plan = next(t for t in thoughts if t.thought_type == "plan")
    assert plan.output is not None and plan.output["checklist"][0]["subgoal"] == "Open products"


def test_skyvern_1_offers_no_checklist_tool(harness: Harness) -> None:
    h = harness
    run_id = h.create_run(prompt="Open products", url=SHOP, engine=Engine.SKYVERN_V1)
    offered: list[list[str]] = []

    def agent(page: Page) -> Reply:
        offered.append(page.request.tool_names)
        return go_to_products_then_done(page)

    h.server.set_policy(agent_policy(agent))
    run(h, run_id, shop())
    assert "update_checklist" not in offered[0]
    assert {"click", "type_text", "extract", "find", "screenshot", "done", "terminate"} <= set(offered[0])


def test_the_stable_prefix_is_cached_across_steps(harness: Harness) -> None:
    h = harness
    run_id = h.create_run(prompt="Wander", url=SHOP, max_steps=4)

    def wander(page: Page) -> Reply:
        return act(ToolUse("click", {"element_id": page.element("Products" if page.url == SHOP else "Home")}))

    h.server.set_policy(agent_policy(wander))
    run(h, run_id, shop())
    usages = [json.loads(json.dumps(e.response["usage"])) for e in h.server.successful()][:4]
    assert usages[0]["cache_read_input_tokens"] == 0 and usages[0]["cache_creation_input_tokens"] > 1000
    # Every later step reads at least the tools + system + task prefix from the cache.
    assert all(u["cache_read_input_tokens"] > 1000 for u in usages[1:])
    assert all(u["cache_creation_input_tokens"] < 500 for u in usages[1:])
    finished = h.of_type(run_id, ev.StepFinished)
    assert finished[1].usage.cached_input_tokens == usages[1]["cache_read_input_tokens"]


def test_a_missing_api_key_fails_the_run_with_a_clear_reason(harness: Harness) -> None:
    h = harness
    h.deps = replace(h.deps, llm=AnthropicLLM(api_key=None, base_url=h.server.base_url))
    run_id = h.create_run(prompt="Anything", url=SHOP)
    run(h, run_id, shop())
    view = h.view(run_id)
    assert view.status is RunStatus.FAILED
    assert view.failure_reason == "no Anthropic API key is configured, so the agent cannot call the model"


def _history_seen_by_verifier(h: Harness, *, full_history: bool) -> str:
    h.with_settings(verifier_recent_actions=1)
    run_id = h.create_run(
        f"tsk_v2_{int(full_history) + 10}",
        prompt="Wander then stop",
        url=SHOP,
        include_action_history_in_verification=full_history,
    )
    seen: list[str] = []

    def wander_then_done(page: Page) -> Reply:
        if page.turn >= 3:
            return done("Wandered enough")
        return act(ToolUse("click", {"element_id": page.element("Products" if page.url == SHOP else "Home")}))

    def verifier(request: MessagesRequest) -> Reply:
        seen.append(request.last_user_text())
        return accept_all(request)

    h.server.set_policy(agent_policy(wander_then_done, verifier=verifier))
    run(h, run_id, shop())
    assert h.view(run_id).status is RunStatus.COMPLETED
    return seen[0]


def test_the_verifier_sees_the_whole_history_only_when_the_run_asks(harness: Harness) -> None:
    recent = _history_seen_by_verifier(harness, full_history=False)
    assert recent.count("step ") == 1
    everything = _history_seen_by_verifier(harness, full_history=True)
    assert everything.count("step ") == 3


def test_steps_recorded_before_a_lost_checkpoint_still_count_against_max_steps(harness: Harness) -> None:
    h = harness
    now = [0.0]
    h.deps = replace(h.deps, monotonic=lambda: now[0])
    run_id = h.create_run(prompt="Wander", url=SHOP, max_steps=2)

    def slow_wander(page: Page) -> Reply:
        now[0] += 50.0
        return act(ToolUse("click", {"element_id": page.element("Products" if page.url == SHOP else "Home")}))

    h.server.set_policy(agent_policy(slow_wander))
    first = asyncio.run(run_slice(h.deps, run_id, browser=shop(), deadline=100.0))
    assert first.continue_ and h.view(run_id).step_count == 1
    # The checkpoint is lost: the next slice starts without state.
    second = asyncio.run(run_slice(h.deps, run_id, browser=shop(), deadline=now[0] + 1000))
    assert second.outcome is not None and second.outcome.status is RunStatus.TIMED_OUT
    assert h.view(run_id).step_count == 2


def test_the_agent_can_extract_find_and_look_at_a_screenshot_mid_run(harness: Harness) -> None:
    h = harness
    run_id = h.create_run(prompt="What does the widget cost?", url=PRODUCTS)
    seen: dict[str, str] = {}

    def curious(page: Page) -> Reply:
        if page.turn == 0:
            return act(
                ToolUse("find", {"text": "price"}),
                ToolUse("extract", {"instruction": "the widget's price"}),
                ToolUse("screenshot", {}),
            )
        seen["find"] = page.result_of("find") or ""
        seen["extract"] = page.result_of("extract") or ""
        shot = page.request.last_tool_results()["screenshot"]["content"]
        seen["images"] = ",".join(b["type"] for b in shot)
        return done("The price is on the page", answer=json.loads(seen["extract"].split("\n", 1)[1])["price"])

    h.server.set_policy(agent_policy(curious, extractor=extract_with(lambda md: {"price": "$42.50"})))
    run(h, run_id, shop())
    view = h.view(run_id)
    assert view.status is RunStatus.COMPLETED, view.failure_reason
    assert view.output == "$42.50"
    assert "Widget price: $42.50" in seen["find"]
    assert '"price": "$42.50"' in seen["extract"]
    assert seen["images"] == "text,image"


def test_a_browser_failing_after_the_goal_is_reached_does_not_lose_the_outcome(harness: Harness) -> None:
    h = harness.with_settings(max_verifier_rejections=0)
    run_id = h.create_run(prompt="Open products", url=SHOP)

    class BreaksAtTheEnd(FakeBrowser):
        broken = False

        async def screenshot(self, *, scrolls: int = 0) -> bytes:
            if self.broken:
                raise RuntimeError("the renderer crashed")
            return await super().screenshot(scrolls=scrolls)

    browser = BreaksAtTheEnd(pages=shop().pages)

    def agent(page: Page) -> Reply:
        reply = go_to_products_then_done(page)
        browser.broken = page.url == PRODUCTS
        return reply

    h.server.set_policy(agent_policy(agent))
    run(h, run_id, browser)
    assert h.view(run_id).status is RunStatus.COMPLETED
    kinds = {a.artifact_type for a in h.of_type(run_id, ev.ArtifactStored)}
    assert "screenshot_final" not in kinds
