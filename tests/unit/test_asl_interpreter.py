"""The ASL interpreter runs statemachine/run.asl.json like Step Functions: the transitions,
Retry and Catch, and the data each task is given."""

from __future__ import annotations

from typing import Any

import pytest

from altostratus.orchestration.asl import (
    DefinitionError,
    ExecutionFailedError,
    Interpreter,
    load_definition,
    validate,
)
from altostratus.orchestration.errors import TransientStepError
from altostratus.runtimes.local_runner import FUNCTIONS, STATE_MACHINE


class Script:
    """Handlers that answer from a script and record what they were given."""

    def __init__(self, steps: list[Any], *, refusals: int = 0) -> None:
        self.steps = steps
        self.refusals = refusals  # how many times run_start finds the organization at its cap
        self.calls: list[tuple[str, Any]] = []
        self.sleeps: list[float] = []

    def invoke(self, function: str, payload: Any) -> Any:
        self.calls.append((function, payload))
        if function == "run_start":
            admitted = self.refusals == 0
            self.refusals = max(0, self.refusals - 1)
            return {
                "run_id": payload["run_id"],
                "continue": admitted,
                "slice": 0,
                "outcome": None,
                "admitted": admitted,
                "wait_seconds": 7,
                "code_answers": None,
            }
        if function == "agent_step":
            step = self.steps.pop(0)
            if isinstance(step, BaseException):
                raise step
            more, outcome, *code_wait = step
            return {
                "run_id": payload["run_id"],
                "continue": more,
                "slice": payload["slice"] + 1,
                "outcome": outcome,
                "code_wait_seconds": code_wait[0] if code_wait else 0,
                "code_answers": None,
            }
        if function == "run_finish":
            return {"run_id": payload["run_id"], "status": (payload["outcome"] or {}).get("status")}
        return {"run_id": payload["run_id"], "status": "failed"}

    def run(self) -> tuple[Interpreter, Any]:
        interpreter = Interpreter(
            load_definition(STATE_MACHINE, FUNCTIONS), invoke=self.invoke, sleep=self.sleeps.append
        )
        return interpreter, interpreter.run({"run_id": "tsk_1"})


def test_slices_loop_until_the_run_ends_then_finish_gets_the_outcome() -> None:
    script = Script([(True, None), (True, None), (False, {"status": "completed", "output": {"n": 1}})])
    interpreter, result = script.run()
    assert interpreter.trace == [
        "Start run",
        "Admitted?",
        "More steps?",
        "Run agent steps",
        "Waiting for a code?",
        "More steps?",
        "Run agent steps",
        "Waiting for a code?",
        "More steps?",
        "Run agent steps",
        "Waiting for a code?",
        "More steps?",
        "Finish run",
    ]
    assert [p["slice"] for f, p in script.calls if f == "agent_step"] == [0, 1, 2]
    assert script.calls[-1] == (
        "run_finish",
        {"run_id": "tsk_1", "outcome": {"status": "completed", "output": {"n": 1}}},
    )
    assert result == {"run_id": "tsk_1", "status": "completed"}


def test_a_transient_error_is_retried_with_backoff_then_succeeds() -> None:
    script = Script([TransientStepError("browser crashed"), (False, {"status": "completed"})])
    _, result = script.run()
    assert [f for f, _ in script.calls] == ["run_start", "agent_step", "agent_step", "run_finish"]
    assert script.sleeps == [1]
    assert result["status"] == "completed"


def test_retries_run_out_then_the_failure_is_recorded_and_the_execution_fails() -> None:
    script = Script(
        [TransientStepError("crash 1"), TransientStepError("crash 2"), TransientStepError("crash 3")]
    )
    with pytest.raises(ExecutionFailedError) as failed:
        script.run()
    assert failed.value.error == "RunFailed"
    assert script.sleeps == [1, 2]
    function, payload = script.calls[-1]
    assert function == "run_failed"
    assert payload["error"]["Error"] == "TransientStepError"
    assert '"errorMessage": "crash 3"' in payload["error"]["Cause"]


def test_an_unexpected_error_is_caught_without_retries() -> None:
    script = Script([KeyError("boom")])
    with pytest.raises(ExecutionFailedError):
        script.run()
    assert [f for f, _ in script.calls] == ["run_start", "agent_step", "run_failed"]
    assert script.sleeps == []


def test_a_run_over_its_organizations_cap_waits_and_asks_again_until_admitted() -> None:
    script = Script([(False, {"status": "completed"})], refusals=2)
    interpreter, result = script.run()
    assert interpreter.trace[:7] == [
        "Start run",
        "Admitted?",
        "Wait for a slot",
        "Start run",
        "Admitted?",
        "Wait for a slot",
        "Start run",
    ]
    assert script.sleeps == [7, 7]  # the seconds run_start asked for, through the injected sleep
    assert [f for f, _ in script.calls] == ["run_start"] * 3 + ["agent_step", "run_finish"]
    assert all(p == {"run_id": "tsk_1"} for f, p in script.calls if f == "run_start")
    assert result["status"] == "completed"


def test_a_slice_waiting_for_a_code_is_followed_by_a_wait_then_the_next_slice() -> None:
    # A slice that ran out waiting for a code, one that looked and found none, then the run ends.
    script = Script([(True, None, 5), (True, None, 3), (False, {"status": "completed"})])
    interpreter, result = script.run()
    assert interpreter.trace[3:11] == [
        "Run agent steps",
        "Waiting for a code?",
        "Wait for a code",
        "Run agent steps",
        "Waiting for a code?",
        "Wait for a code",
        "Run agent steps",
        "Waiting for a code?",
    ]
    assert interpreter.trace[11:] == ["More steps?", "Finish run"]
    assert script.sleeps == [5, 3]  # the seconds each slice asked for
    assert [p["slice"] for f, p in script.calls if f == "agent_step"] == [0, 1, 2]
    assert result["status"] == "completed"


def test_numeric_greater_than_compares_numbers_only() -> None:
    definition = {
        "StartAt": "C",
        "States": {
            "C": {
                "Type": "Choice",
                "Choices": [{"Variable": "$.n", "NumericGreaterThan": 0, "Next": "Above"}],
                "Default": "Not above",
            },
            "Above": {"Type": "Succeed"},
            "Not above": {"Type": "Succeed"},
        },
    }
    validate(definition)
    for value, chosen in ((1, "Above"), (0.5, "Above"), (0, "Not above"), (-2, "Not above"),
                          (True, "Not above"), ("7", "Not above")):  # fmt: skip
        interpreter = Interpreter(definition, invoke=lambda f, p: None)
        interpreter.run({"n": value})
        assert interpreter.trace == ["C", chosen], value


def test_wait_states_sleep_fixed_or_given_seconds_and_refuse_bad_ones() -> None:
    definition = {
        "StartAt": "Fixed",
        "States": {
            "Fixed": {"Type": "Wait", "Seconds": 3, "Next": "Given"},
            "Given": {
                "Type": "Wait",
                "InputPath": "$.wait",
                "SecondsPath": "$.s",
                "OutputPath": "$",
                "End": True,
            },
        },
    }
    validate(definition)
    sleeps: list[float] = []
    out = Interpreter(definition, invoke=lambda f, p: None, sleep=sleeps.append).run({"wait": {"s": 2}})
    assert sleeps == [3, 2] and out == {"s": 2}
    with pytest.raises(ExecutionFailedError) as failed:
        Interpreter(definition, invoke=lambda f, p: None, sleep=sleeps.append).run({"wait": {"s": "soon"}})
    assert failed.value.error == "States.Runtime"
    for bad in ({"Type": "Wait", "End": True}, {"Type": "Wait", "Seconds": -1, "End": True}):
        with pytest.raises(DefinitionError):
            validate({"StartAt": "W", "States": {"W": bad}})
    with pytest.raises(DefinitionError, match="not supported"):
        validate(
            {
                "StartAt": "W",
                "States": {"W": {"Type": "Wait", "Timestamp": "2026-01-01T00:00:00Z", "End": True}},
            }
        )


def _one_task(retry: list[dict[str, Any]], catch: list[dict[str, Any]] | None = None) -> dict[str, Any]:
    task: dict[str, Any] = {
        "Type": "Task",
        "Resource": "arn:aws:states:::lambda:invoke",
        "Parameters": {"FunctionName": "f", "Payload": {}},
        "Retry": retry,
        "End": True,
    }
    if catch is not None:
        task["Catch"] = catch
    return {
        "StartAt": "T",
        "States": {"T": task, "Caught": {"Type": "Pass", "End": True}},
    }


def _raising(*names: str) -> Any:
    queue = list(names)

    def invoke(function: str, payload: Any) -> Any:
        if queue:
            raise type(queue.pop(0), (Exception,), {})("x")
        return {"ok": True}

    return invoke


def test_full_jitter_draws_each_wait_below_its_capped_backoff() -> None:
    definition = _one_task(
        [{"ErrorEquals": ["Flaky"], "IntervalSeconds": 4, "MaxAttempts": 3, "BackoffRate": 4,
          "MaxDelaySeconds": 20, "JitterStrategy": "FULL"}]
    )  # fmt: skip
    validate(definition)
    sleeps: list[float] = []
    asked: list[float] = []

    def jitter(delay: float) -> float:
        asked.append(delay)
        return delay / 2

    Interpreter(
        definition, invoke=_raising("Flaky", "Flaky", "Flaky"), sleep=sleeps.append, jitter=jitter
    ).run({})
    assert asked == [4, 16, 20]  # 4 * 4**n, capped at MaxDelaySeconds
    assert sleeps == [2, 8, 10]


def test_states_all_catches_neither_runtime_errors_nor_data_limits() -> None:
    catch_all = [{"ErrorEquals": ["States.ALL"], "Next": "Caught"}]
    with pytest.raises(ExecutionFailedError) as failed:
        Interpreter(_one_task([], catch_all), invoke=_raising("States.Runtime")).run({})
    assert failed.value.error == "States.Runtime"
    with pytest.raises(ExecutionFailedError):
        Interpreter(_one_task([], catch_all), invoke=_raising("States.DataLimitExceeded")).run({})
    named = [{"ErrorEquals": ["States.DataLimitExceeded"], "Next": "Caught"}]
    out = Interpreter(_one_task([], named), invoke=_raising("States.DataLimitExceeded")).run({})
    assert out["Error"] == "States.DataLimitExceeded"
    # Nothing catches States.Runtime, even by name.
    by_name = [{"ErrorEquals": ["States.Runtime"], "Next": "Caught"}]
    with pytest.raises(ExecutionFailedError):
        Interpreter(_one_task([], by_name), invoke=_raising("States.Runtime")).run({})


def test_unknown_retrier_fields_and_jitter_strategies_are_refused() -> None:
    with pytest.raises(DefinitionError, match="retrier fields"):
        validate(_one_task([{"ErrorEquals": ["X"], "Backoff": 2}]))
    with pytest.raises(DefinitionError, match="JitterStrategy"):
        validate(_one_task([{"ErrorEquals": ["X"], "JitterStrategy": "HALF"}]))
