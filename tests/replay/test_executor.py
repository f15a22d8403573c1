"""Replaying a compiled plan on real Chromium against the fixture site, with no model at all:
the recorded values reproduce the output, other values change it, a renamed button stops the
replay at its step with the reason, and replayed actions are recorded as code."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest

from altostratus.adapters.browser.agent_browser import SessionBrowser
from altostratus.domain import events as ev
from altostratus.domain.enums import StepStatus
from altostratus.domain.replay.compile import compile_plan
from altostratus.domain.replay.plan import ExpectedEffect, Extraction, PlanStep, ReplayPlan, SecretRef
from altostratus.domain.replay.targets import SelectorBundle
from altostratus.engine.agent.recorder import Recorder
from altostratus.engine.agent.secrets import Secrets
from altostratus.engine.replay.executor import (
    ReplayResult,
    SecretPendingError,
    SecretUnavailableError,
    replay_plan,
)
from altostratus.wire.render import timeline_response
from tests.agent.harness import Harness
from tests.replay import golden, scenario
from tests.support.fixture_site import FixtureSite
from tests.support.two_factor_site import two_factor_site

pytestmark = pytest.mark.browser


@pytest.fixture(scope="session")
def plan(recorded: list[ev.Event]) -> ReplayPlan:
    return compile_plan(recorded)


def _replay(
    loop: asyncio.AbstractEventLoop,
    plan: ReplayPlan,
    browser: SessionBrowser,
    parameters: dict[str, str] | None = None,
    **options: Any,
) -> ReplayResult:
    return loop.run_until_complete(replay_plan(plan, parameters or {}, browser, **options))


def test_what_the_engine_records_compiles_to_the_golden_plan(
    recorded: list[ev.Event], site: FixtureSite
) -> None:
    # The golden log is what the engine records today: a fresh recording compiles to the same
    # plan once the fixture site's port is replaced by the golden origin.
    fresh = compile_plan(golden.normalise(recorded, site.main_origin))
    assert fresh.to_json() == golden.PLAN.read_text(), "stale: run python -m tests.replay.golden"


def test_the_recorded_values_reproduce_the_output_without_a_single_model_request(
    plan: ReplayPlan,
    recorded: list[ev.Event],
    harness: Harness,
    chromium: SessionBrowser,
    browser_loop: asyncio.AbstractEventLoop,
) -> None:
    requests_before = len(harness.server.exchanges)
    result = _replay(browser_loop, plan, chromium)
    assert result.completed, result.reason
    produced = [e.data for e in recorded if isinstance(e.data, ev.RunCompleted)]
    assert (
        result.output
        == produced[0].output
        == scenario.expected_output("Ada Lovelace", "ada@example.com", "Team")
    )
    assert (result.steps_done, result.failed_step) == (6, None)
    assert len(harness.server.exchanges) == requests_before


def test_other_parameter_values_change_what_is_typed_chosen_and_read(
    plan: ReplayPlan, chromium: SessionBrowser, browser_loop: asyncio.AbstractEventLoop
) -> None:
    values = {"full_name": "Grace Hopper", "email": "grace@example.com", "plan": "Enterprise"}
    result = _replay(browser_loop, plan, chromium, values)
    assert result.completed, result.reason
    assert result.output == scenario.expected_output("Grace Hopper", "grace@example.com", "Enterprise")
    # The page shows it too (the output is read from it, not remembered).
    page = browser_loop.run_until_complete(chromium.markdown())
    assert "Grace Hopper" in page and "$199.00" in page


def test_a_renamed_button_stops_the_replay_at_its_step_with_the_reason(
    plan: ReplayPlan, site: FixtureSite, chromium: SessionBrowser, browser_loop: asyncio.AbstractEventLoop
) -> None:
    changed = plan.model_copy(update={"start_url": site.url(f"{scenario.PAGES}/order-1-renamed.html")})
    result = _replay(browser_loop, changed, chromium, step_timeout_s=1.0)
    assert not result.completed
    assert (result.failed_step, result.steps_done) == (3, 2)
    assert result.reason == 'step 3 (Click button "Next"): button "Next" is not on the page'
    # Nothing after the failed step ran: the page is still the first one, filled in.
    observation = browser_loop.run_until_complete(chromium.observe(full=True))
    assert observation.url.endswith("order-1-renamed.html") and "Ada Lovelace" in observation.text


def test_a_replay_resumes_from_a_later_step_on_the_current_page(
    plan: ReplayPlan, site: FixtureSite, chromium: SessionBrowser, browser_loop: asyncio.AbstractEventLoop
) -> None:
    # The page the first three steps would have reached, opened by hand: steps 4..6 remain.
    browser_loop.run_until_complete(
        chromium.open(
            site.url(f"{scenario.PAGES}/order-2.html?full_name=Alan+Turing&email=alan%40example.com")
        )
    )
    result = _replay(browser_loop, plan, chromium, {"plan": "Basic"}, start_at=4)
    assert result.completed, result.reason
    assert result.output == scenario.expected_output("Alan Turing", "alan@example.com", "Basic")


def test_an_output_that_no_longer_fits_the_schema_fails_the_extraction(
    plan: ReplayPlan, chromium: SessionBrowser, browser_loop: asyncio.AbstractEventLoop
) -> None:
    assert plan.extraction is not None
    schema = dict(scenario.ORDER_SCHEMA)
    schema["properties"] = {**schema["properties"], "plan": {"type": "string", "enum": ["Basic"]}}
    strict = plan.model_copy(
        update={"extraction": Extraction(data_schema=schema, fields=plan.extraction.fields)}
    )
    result = _replay(browser_loop, strict, chromium)
    assert not result.completed and result.failed_step == len(plan.steps) + 1
    assert result.reason is not None and result.reason.startswith(
        "the extracted output does not match the schema at plan"
    )


def test_unknown_parameters_are_refused_before_anything_runs(
    plan: ReplayPlan, chromium: SessionBrowser, browser_loop: asyncio.AbstractEventLoop
) -> None:
    result = _replay(browser_loop, plan, chromium, {"colour": "blue"})
    assert (result.completed, result.failed_step, result.reason) == (False, 0, "unknown parameter(s): colour")


def test_replayed_actions_are_recorded_and_shown_in_the_timeline_as_code(
    plan: ReplayPlan, harness: Harness, chromium: SessionBrowser, browser_loop: asyncio.AbstractEventLoop
) -> None:
    run_id = harness.create_run("wr_replay_1", prompt=scenario.PROMPT)
    step_id = "stp_replay_1"
    log = harness.event_log
    log.append(run_id, [ev.Draft(data=ev.RunStarted(executor="test"))])
    log.append(run_id, [ev.Draft(data=ev.StepStarted(step_id=step_id, order=1, url=plan.start_url))])
    rec = Recorder(
        event_log=log,
        artifacts=harness.artifacts,
        ids=harness.deps.ids,
        run_id=run_id,
        org_id=harness.view(run_id).org_id,
        step_id=step_id,
    )
    result = _replay(browser_loop, plan, chromium, {"full_name": "Ada Byron"}, recorder=rec)
    assert result.completed, result.reason
    log.append(run_id, [ev.Draft(data=ev.StepFinished(step_id=step_id, status=StepStatus.COMPLETED))])
    planned = harness.of_type(run_id, ev.ActionPlanned)
    assert [p.tool for p in planned] == ["type", "type", "click", "select", "check", "click"]
    assert {p.created_by for p in planned} == {"script"}
    executed = harness.of_type(run_id, ev.ActionExecuted)
    assert [e.status.value for e in executed] == ["completed"] * 6
    wire = timeline_response(harness.timeline(run_id))
    actions = wire[0]["block"]["actions"]
    assert [a["created_by"] for a in actions] == ["script"] * 6
    assert actions[0]["text"] == "Ada Byron" and actions[0]["status"] == "completed"


def test_a_secret_is_typed_from_the_resolver_and_never_recorded(
    plan: ReplayPlan, harness: Harness, chromium: SessionBrowser, browser_loop: asyncio.AbstractEventLoop
) -> None:
    steps = list(plan.steps)
    steps[1] = steps[1].model_copy(update={"value": SecretRef(secret="user_email")})
    with_secret = plan.model_copy(update={"steps": tuple(steps)})
    asked: list[str] = []

    async def resolve(name: str) -> str | None:
        asked.append(name)
        return "grace.secret@example.com" if name == "user_email" else None

    run_id = harness.create_run("wr_replay_secret", prompt=scenario.PROMPT)
    step_id = "stp_replay_secret"
    log = harness.event_log
    log.append(run_id, [ev.Draft(data=ev.RunStarted(executor="test"))])
    log.append(run_id, [ev.Draft(data=ev.StepStarted(step_id=step_id, order=1))])
    rec = Recorder(
        event_log=log,
        artifacts=harness.artifacts,
        ids=harness.deps.ids,
        run_id=run_id,
        org_id=harness.view(run_id).org_id,
        step_id=step_id,
    )
    result = _replay(browser_loop, with_secret, chromium, recorder=rec, secrets=resolve)
    assert result.completed, result.reason
    assert asked == ["user_email"]
    recorded = harness.everything_recorded(run_id)
    # Neither the value nor its URL-encoded form (the GET form puts it in the address).
    assert "grace.secret@example.com" not in recorded and "grace.secret%40example.com" not in recorded
    assert "{{secret:user_email}}" in recorded
    # Without the resolver's value the step fails, naming the secret.
    missing = _replay(browser_loop, with_secret, chromium)
    assert (missing.failed_step, missing.reason) == (
        2,
        "step 2 (Fill textbox \"Email\"): the secret 'user_email' is not available",
    )


@pytest.mark.parametrize("boxes", [1, 6])
def test_a_verification_code_step_types_a_fresh_code_into_its_boxes(
    boxes: int, chromium: SessionBrowser, browser_loop: asyncio.AbstractEventLoop
) -> None:
    if boxes == 1:
        targets = [SelectorBundle(role="textbox", label="Verification code", name_attr="code", tag="input")]
    else:
        targets = [
            SelectorBundle(role="textbox", name=f"Digit {n + 1}", name_attr=f"d{n}", tag="input")
            for n in range(boxes)
        ]
    asked: list[str] = []

    async def codes(name: str) -> str | None:
        asked.append(name)
        return "482913"

    with two_factor_site(expected="482913") as site:
        plan = ReplayPlan(
            start_url=site.url(f"/2fa?boxes={boxes}"),
            steps=(
                PlanStep(
                    kind="totp-code",
                    description="Type a fresh verification code",
                    target=targets[0],
                    more_targets=tuple(targets[1:]),
                ),
                PlanStep(
                    kind="click",
                    description='Click button "Verify"',
                    target=SelectorBundle(role="button", name="Verify", tag="button"),
                    expect=ExpectedEffect(url=site.url("/2fa/verify")),
                ),
            ),
        )
        result = _replay(browser_loop, plan, chromium, secrets=codes)
        assert result.completed, result.reason
        assert asked == ["verification_code"] and site.attempts == ["482913"]


def _code_plan(site_url: str) -> ReplayPlan:
    box = SelectorBundle(role="textbox", label="Verification code", name_attr="code", tag="input")
    return ReplayPlan(
        start_url=site_url + "/2fa",
        steps=(
            PlanStep(kind="totp-code", description="Type a fresh verification code", target=box),
            PlanStep(
                kind="click",
                description='Click button "Verify"',
                target=SelectorBundle(role="button", name="Verify", tag="button"),
                expect=ExpectedEffect(url=site_url + "/2fa/verify"),
            ),
        ),
    )


def test_a_code_that_arrives_after_the_step_timeout_is_still_typed(
    chromium: SessionBrowser, browser_loop: asyncio.AbstractEventLoop
) -> None:
    # A pushed code can take minutes to come: the wait for it is not the page failing.
    async def slow_code(name: str) -> str | None:
        await asyncio.sleep(0.5)
        return "615243"

    with two_factor_site(expected="615243") as site:
        result = _replay(
            browser_loop, _code_plan(site.base_url), chromium, secrets=slow_code, step_timeout_s=0.1
        )
        assert result.completed, result.reason
        assert site.attempts == ["615243"]


def test_a_secret_the_resolver_cannot_give_stops_its_step_with_the_resolvers_reason(
    chromium: SessionBrowser, browser_loop: asyncio.AbstractEventLoop
) -> None:
    async def no_code(name: str) -> str | None:
        raise SecretUnavailableError("No verification code was pushed for the run's totp_identifier.")

    with two_factor_site(expected="615243") as site:
        result = _replay(browser_loop, _code_plan(site.base_url), chromium, secrets=no_code)
        assert (result.completed, result.failed_step, result.steps_done) == (False, 1, 0)
        assert result.reason == (
            "step 1 (Type a fresh verification code): No verification code was pushed for the run's "
            "totp_identifier."
        )
        assert site.attempts == []


def test_a_code_waited_for_elsewhere_stops_the_replay_before_its_step_which_a_later_replay_starts_at(
    chromium: SessionBrowser, browser_loop: asyncio.AbstractEventLoop
) -> None:
    async def later(name: str) -> str | None:
        raise SecretPendingError()

    async def now(name: str) -> str | None:
        return "615243"

    with two_factor_site(expected="615243") as site:
        plan = _code_plan(site.base_url)
        # WHEN the code's resolver waits for it outside the replay (between slices)
        waiting = _replay(browser_loop, plan, chromium, secrets=later)
        # THEN the replay stops at the code's step, typing nothing, and not as a failure
        assert (waiting.completed, waiting.waiting_at, waiting.steps_done) == (False, 1, 0)
        assert waiting.failed_step is None and waiting.reason is None
        assert site.attempts == []
        # AND a replay started at that step, on the same page, types the code once and goes on
        resumed = _replay(
            browser_loop, plan, chromium, secrets=now, start_at=waiting.waiting_at, open_start_url=False
        )
        assert resumed.completed, resumed.reason
        assert site.attempts == ["615243"]


def test_values_the_run_hides_are_never_recorded_wherever_the_page_shows_them(
    plan: ReplayPlan, harness: Harness, chromium: SessionBrowser, browser_loop: asyncio.AbstractEventLoop
) -> None:
    # The run's own secrets (a sealed header's value, say) can come back in what the page
    # shows: here the name typed is one, read back by the field and sent in the next address.
    hidden = "Hidden Hopper-Token"
    run_id = harness.create_run("wr_replay_hidden", prompt=scenario.PROMPT)
    step_id = "stp_replay_hidden"
    log = harness.event_log
    log.append(run_id, [ev.Draft(data=ev.RunStarted(executor="test"))])
    log.append(run_id, [ev.Draft(data=ev.StepStarted(step_id=step_id, order=1))])
    rec = Recorder(
        event_log=log,
        artifacts=harness.artifacts,
        ids=harness.deps.ids,
        run_id=run_id,
        org_id=harness.view(run_id).org_id,
        step_id=step_id,
    )
    result = _replay(
        browser_loop,
        plan,
        chromium,
        {"full_name": hidden},
        recorder=rec,
        redaction=Secrets({}, hidden=[hidden]),
    )
    assert result.completed, result.reason
    recorded = harness.everything_recorded(run_id)
    assert [f for f in (hidden, "Hidden+Hopper-Token", "Hidden%20Hopper-Token") if f in recorded] == []
    assert "***" in recorded
