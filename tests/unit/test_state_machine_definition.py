"""Static checks of statemachine/run.asl.json that neither moto nor cfn-lint make."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from altostratus.orchestration.asl import DefinitionError, load_definition, validate
from altostratus.runtimes.local_runner import FUNCTIONS, STATE_MACHINE

ROOT = Path(__file__).resolve().parents[2]


def _definition() -> dict:
    return json.loads(STATE_MACHINE.read_text())


def _targets(state: dict) -> list[str]:
    found = [state[k] for k in ("Next", "Default") if k in state]
    found += [c["Next"] for c in state.get("Choices", [])]
    found += [c["Next"] for c in state.get("Catch", [])]
    return found


def test_every_transition_target_exists() -> None:
    states = _definition()["States"]
    for name, state in states.items():
        for target in _targets(state):
            assert target in states, f"{name} -> {target} does not exist"


def test_every_state_is_reachable_and_every_path_can_end() -> None:
    definition = _definition()
    states = definition["States"]
    seen, todo = set(), [definition["StartAt"]]
    while todo:
        name = todo.pop()
        if name not in seen:
            seen.add(name)
            todo += _targets(states[name])
    assert seen == set(states)
    terminal = {n for n, s in states.items() if s.get("End") or s["Type"] in ("Succeed", "Fail")}
    for name, state in states.items():
        if name not in terminal:
            assert _targets(state), f"{name} neither ends nor moves on"


def test_it_is_jsonpath_only_and_every_task_has_retry_and_catch() -> None:
    definition = _definition()
    assert "QueryLanguage" not in definition or definition["QueryLanguage"] == "JSONPath"
    for name, state in definition["States"].items():
        if state["Type"] == "Task":
            assert state.get("Retry"), f"{name} has no Retry"
            if name != "Record failure":
                assert state.get("Catch"), f"{name} has no Catch"


def test_the_substitutions_are_the_ones_the_runner_and_template_provide() -> None:
    used = set(re.findall(r"\$\{(\w+)\}", STATE_MACHINE.read_text()))
    assert used == set(FUNCTIONS)
    template = (ROOT / "template.yaml").read_text()
    if "DefinitionSubstitutions" in template:
        for name in used:
            assert f"{name}:" in template, f"template.yaml does not substitute {name}"


def test_the_interpreter_accepts_the_definition_and_refuses_what_it_cannot_run() -> None:
    load_definition(STATE_MACHINE, FUNCTIONS)
    with pytest.raises(DefinitionError, match="no substitution"):
        load_definition(STATE_MACHINE, {})
    with pytest.raises(DefinitionError, match="not supported"):
        validate({"StartAt": "M", "States": {"M": {"Type": "Map", "End": True}}})


RECOMMENDED = {
    "Lambda.ServiceException",
    "Lambda.AWSLambdaException",
    "Lambda.SdkClientException",
    "Lambda.ClientExecutionTimeoutException",
    "Lambda.TooManyRequestsException",
}


def test_every_task_retries_what_aws_recommends_jittered_and_capped() -> None:
    for name, state in _definition()["States"].items():
        if state["Type"] != "Task":
            continue
        retried = {e for r in state["Retry"] for e in r["ErrorEquals"]}
        assert retried >= RECOMMENDED or "States.ALL" in retried, f"{name} misses {RECOMMENDED - retried}"
        for retrier in state["Retry"]:
            assert retrier.get("MaxDelaySeconds"), f"{name}: a retrier without MaxDelaySeconds"
            if set(retrier["ErrorEquals"]) & RECOMMENDED:
                assert retrier.get("JitterStrategy") == "FULL", f"{name}: Lambda errors retried in lockstep"
        throttled = next(
            r
            for r in state["Retry"]
            if "Lambda.TooManyRequestsException" in r["ErrorEquals"] or "States.ALL" in r["ErrorEquals"]
        )
        # Throttling is waited out for minutes, not 7 seconds.
        total = sum(
            min(throttled["IntervalSeconds"] * throttled["BackoffRate"] ** n, throttled["MaxDelaySeconds"])
            for n in range(throttled["MaxAttempts"])
        )
        assert name == "Record failure" or total >= 120, f"{name}: throttling retried for only {total} s"


def test_a_slice_that_died_of_its_time_limit_or_memory_is_retried_from_its_checkpoint() -> None:
    slice_state = _definition()["States"]["Run agent steps"]
    retried = {e for r in slice_state["Retry"] for e in r["ErrorEquals"]}
    assert {"Lambda.Unknown", "States.Timeout"} <= retried


def test_the_machine_and_every_task_have_a_time_limit_over_the_functions() -> None:
    definition = _definition()
    assert definition["TimeoutSeconds"] >= 3600 * 2  # a run's own limit, plus time queued
    for name, state in definition["States"].items():
        if state["Type"] == "Task":
            assert state.get("TimeoutSeconds"), f"{name} can hang forever"
    # The slice's task outlives agent_step's own 900 s timeout, so Lambda's error is the one seen.
    assert definition["States"]["Run agent steps"]["TimeoutSeconds"] > 900


def test_catches_name_the_errors_states_all_does_not_match() -> None:
    for name, state in _definition()["States"].items():
        if state["Type"] == "Task" and name != "Record failure":
            caught = {e for c in state["Catch"] for e in c["ErrorEquals"]}
            assert {"States.ALL", "States.DataLimitExceeded"} <= caught, name


def test_every_field_the_slice_tasks_select_is_in_every_result_they_return() -> None:
    # Step Functions fails an execution whose ResultSelector or Choice reads a missing field, so
    # the agent_step result carries code_wait_seconds even when the run waits for nothing.
    from altostratus.domain.lifecycle import RunOutcome
    from altostratus.orchestration.task_io import task_result

    states = _definition()["States"]
    selected = {
        path.removeprefix("$.Payload.") for path in states["Run agent steps"]["ResultSelector"].values()
    }
    for result in (
        task_result("tsk_1", more=True, slice_no=1),
        task_result("tsk_1", more=False, slice_no=2, outcome=RunOutcome.completed({"a": 1})),
        task_result("tsk_1", more=True, slice_no=3, code_wait_seconds=10),
    ):
        assert selected <= set(result), selected - set(result)
    # The slice reads from the state what the state before it selected: Start run's result the
    # first time, its own after that (the answers its totp_url gave the looks between slices).
    payload = states["Run agent steps"]["Parameters"]["Payload"]
    read = {path.removeprefix("$.") for path in payload.values()}
    for before in ("Start run", "Run agent steps"):
        given = {key.removesuffix(".$") for key in states[before]["ResultSelector"]}
        assert read <= given, (before, read - given)
    waiting = states["Waiting for a code?"]
    assert states["Run agent steps"]["Next"] == "Waiting for a code?"
    assert waiting["Choices"] == [
        {"Variable": "$.code_wait_seconds", "NumericGreaterThan": 0, "Next": "Wait for a code"}
    ]
    assert waiting["Default"] == "More steps?"
    assert states["Wait for a code"] == {
        "Type": "Wait",
        "SecondsPath": "$.code_wait_seconds",
        "Next": "Run agent steps",
    }
