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
