"""Compiling a run's log into a replay plan: golden files, determinism, parameters, secrets,
refusals, and logs recorded before selector bundles existed."""

from __future__ import annotations

import ast
import json
import random
from typing import Any

import jsonschema
import pytest

from altostratus.domain import events as ev
from altostratus.domain.enums import ActionStatus
from altostratus.domain.replay.compile import PlanNotCompilable, compile_plan, value_pattern
from altostratus.domain.replay.export import export_playwright
from altostratus.domain.replay.plan import SCHEMA_PATH, ParameterRef, ReplayPlan, SecretRef, render_schema
from altostratus.domain.timeline import timeline
from altostratus.domain.view import fold
from tests.replay import golden


def _replace(events: list[ev.Event], index: int, **changes: Any) -> list[ev.Event]:
    """The events with the payload of `events[index]` changed."""
    event = events[index]
    data = event.data.model_copy(update=changes)
    return [*events[:index], event.model_copy(update={"data": data}), *events[index + 1 :]]


def _index(events: list[ev.Event], kind: type[Any], nth: int = 0) -> int:
    return [i for i, e in enumerate(events) if isinstance(e.data, kind)][nth]


def test_the_golden_log_compiles_to_the_golden_plan_byte_for_byte() -> None:
    plan = compile_plan(golden.load_events())
    assert plan.to_json() == golden.PLAN.read_text(), "stale: run python -m tests.replay.golden"


def test_the_same_log_always_yields_the_same_plan_whatever_order_it_is_read_in() -> None:
    events = golden.load_events()
    shuffled = list(events)
    random.Random(15).shuffle(shuffled)
    assert compile_plan(shuffled).to_json() == compile_plan(events).to_json()


def test_the_plan_schema_file_is_up_to_date_and_the_plan_validates_against_it() -> None:
    assert SCHEMA_PATH.read_text() == render_schema(), (
        "plan.schema.json is stale: run python -m altostratus.domain.replay.plan"
    )
    schema = json.loads(SCHEMA_PATH.read_text())
    jsonschema.Draft202012Validator.check_schema(schema)
    jsonschema.validate(json.loads(golden.PLAN.read_text()), schema)
    # A plan with a step kind the interpreter does not know is refused by the schema.
    broken = json.loads(golden.PLAN.read_text())
    broken["steps"][0]["kind"] = "exec_python"
    with pytest.raises(jsonschema.ValidationError):
        jsonschema.validate(broken, schema)


def test_the_plan_has_the_steps_the_run_took_and_waits_on_the_pages_they_led_to() -> None:
    plan = ReplayPlan.from_json(golden.PLAN.read_text())
    assert [s.kind for s in plan.steps] == ["fill", "fill", "click", "select", "check", "click"]
    assert plan.start_url == f"{golden.ORIGIN}/replay/order-1.html"
    next_button = plan.steps[2]
    assert next_button.target is not None
    assert (next_button.target.role, next_button.target.name) == ("button", "Next")
    # The address the click led to, without the query a GET form filled with the values typed.
    assert next_button.expect.url == f"{golden.ORIGIN}/replay/order-2.html"
    assert plan.steps[4].expect.checked is True
    assert plan.steps[0].expect.value_matches is True


def test_typed_and_chosen_values_become_named_parameters_defaulting_to_the_recorded_ones() -> None:
    plan = compile_plan(golden.load_events())
    assert [(p.name, p.type, p.default) for p in plan.parameters] == [
        ("full_name", "string", "Ada Lovelace"),
        ("email", "string", "ada@example.com"),
        ("plan", "string", "Team"),
    ]
    assert [s.value for s in plan.steps if s.kind in ("fill", "select")] == [
        ParameterRef(parameter="full_name"),
        ParameterRef(parameter="email"),
        ParameterRef(parameter="plan"),
    ]


def test_the_output_becomes_selector_reads_of_the_elements_it_was_read_from() -> None:
    plan = compile_plan(golden.load_events())
    assert plan.extraction is not None
    fields = {f.path: f for f in plan.extraction.fields}
    assert set(fields) == {("confirmation",), ("name",), ("plan",), ("monthly_total",)}
    assert fields[("confirmation",)].target.element_id == "confirmation"
    plan_target = fields[("plan",)].target.test_id
    assert plan_target is not None and plan_target.value == "plan"
    assert fields[("monthly_total",)].type == "number"
    assert (
        plan.extraction.data_schema
        == json.loads(golden.EVENTS.read_text().splitlines()[0])["data"]["request"]["data_extraction_schema"]
    )


def test_a_value_inside_a_sentence_is_read_by_the_words_around_it() -> None:
    import re

    text = "Thank you! Your confirmation number is ORD-123456. Keep it."
    pattern = value_pattern(text, "ORD-123456")
    assert pattern is not None
    other = "Thank you! Your confirmation number is ORD-999999. Keep it."
    match = re.search(pattern, other)
    assert match is not None and match.group(1) == "ORD-999999"


def test_two_fields_with_the_same_name_get_distinct_parameters() -> None:
    events = golden.load_events()
    second = _index(events, ev.ActionExecuted, 1)
    first_target = events[_index(events, ev.ActionExecuted, 0)].data.target  # type: ignore[union-attr]
    events = _replace(events, second, target=first_target)
    names = [p.name for p in compile_plan(events).parameters]
    assert names == ["full_name", "full_name_2", "plan"]


def test_a_secret_stays_a_placeholder_in_the_plan_and_in_main_py() -> None:
    events = golden.load_events()
    email = _index(events, ev.ActionPlanned, 1)
    placeholder = "{{secret:user_email}}"
    planned = events[email].data
    assert isinstance(planned, ev.ActionPlanned)
    events = _replace(events, email, text=placeholder, params={**planned.params, "text": placeholder})
    plan = compile_plan(events)
    assert plan.steps[1].value == SecretRef(secret="user_email")
    secret = plan.parameter("user_email")
    assert secret is not None and (secret.type, secret.default) == ("secret", placeholder)
    script = export_playwright(plan)
    assert 'secret("user_email")' in script and "ALTO_SECRET_USER_EMAIL" in script
    assert "ada@example.com" not in [p.default for p in plan.parameters]


def test_a_verification_code_becomes_a_step_that_asks_for_a_fresh_code() -> None:
    events = golden.load_events()
    email = _index(events, ev.ActionPlanned, 1)
    events = _replace(
        events, email, tool="enter_verification_code", text=None, params={"element_ids": ["e2"]}
    )
    plan = compile_plan(events)
    step = plan.steps[1]
    assert step.kind == "totp-code" and step.value is None
    assert step.target is not None and step.target.name_attr == "email"
    assert "email" not in [p.name for p in plan.parameters]
    assert 'secret("verification_code")' in export_playwright(plan)


def test_a_run_that_did_not_complete_is_not_compiled() -> None:
    events = golden.load_events()
    completed = _index(events, ev.RunCompleted)
    failed = events[completed].model_copy(update={"data": ev.RunFailed(reason="the page broke")})
    with pytest.raises(PlanNotCompilable) as refused:
        compile_plan([*events[:completed], failed, *events[completed + 1 :]])
    assert "RunFailed" in refused.value.reason
    with pytest.raises(PlanNotCompilable, match="has not ended"):
        compile_plan(events[:completed])


def test_an_action_that_cannot_be_replayed_is_refused_naming_the_step() -> None:
    events = golden.load_events()
    events = _replace(events, _index(events, ev.ActionPlanned, 3), tool="switch_tab", params={"tab": "t2"})
    with pytest.raises(PlanNotCompilable, match=r"step 4: the action 'switch_tab' cannot be replayed"):
        compile_plan(events)


def test_failed_and_skipped_actions_are_left_out() -> None:
    events = golden.load_events()
    events = _replace(events, _index(events, ev.ActionExecuted, 0), status=ActionStatus.FAILED)
    plan = compile_plan(events)
    assert [s.kind for s in plan.steps] == ["fill", "click", "select", "check", "click"]


def test_an_output_not_read_from_the_page_is_refused() -> None:
    events = golden.load_events()
    produced = _index(events, ev.OutputProduced)
    data = events[produced].data
    assert isinstance(data, ev.OutputProduced)
    events = _replace(events, produced, sources=data.sources[1:])
    with pytest.raises(PlanNotCompilable, match="confirmation was not read from an element"):
        compile_plan(events)


def _as_version_1(event: ev.Event) -> str:
    """The event as a version-1 writer stored it: none of the replay fields."""
    raw = json.loads(ev.encode_event(event))
    raw["schema_version"] = 1
    for field in ("target", "observed", "created_by", "sources"):
        raw["data"].pop(field, None)
    return json.dumps(raw)


def test_a_version_1_log_still_decodes_and_folds_but_does_not_compile() -> None:
    events = golden.load_events()
    old = [ev.decode_event(_as_version_1(e)) for e in events]
    assert all(e.schema_version == 1 for e in old)
    assert ev.SCHEMA_VERSION == 2 and events[0].schema_version == 2
    # The view and the timeline of the old log are those of the new one.
    assert fold(old) == fold(events)
    assert [e.model_dump() for e in timeline(old)] == [e.model_dump() for e in timeline(events)]
    with pytest.raises(PlanNotCompilable, match="was not recorded"):
        compile_plan(old)


def test_the_export_is_the_golden_main_py_and_is_valid_python() -> None:
    script = export_playwright(compile_plan(golden.load_events()))
    assert script == golden.MAIN.read_text(), "stale: run python -m tests.replay.golden"
    tree = ast.parse(script)
    imported = {n.module for n in ast.walk(tree) if isinstance(n, ast.ImportFrom)}
    assert "playwright.sync_api" in imported
    assert not any("altostratus" in (m or "") for m in imported)
    for call in ("get_by_role", "get_by_label", "get_by_test_id", "locator"):
        assert f".{call}(" in script
