"""An interpreter of the Amazon States Language subset `statemachine/run.asl.json` uses.

The embedded runtime executes the very file Step Functions runs on AWS, so both take the same
transitions, retries and catches. Supported: Task (`arn:aws:states:::lambda:invoke`), Choice,
Pass, Wait (`Seconds` or `SecondsPath`, slept through the injectable `sleep`), Succeed, Fail;
InputPath, Parameters (with `.$` paths), ResultSelector, ResultPath, OutputPath; Retry
(ErrorEquals, IntervalSeconds, MaxAttempts, BackoffRate, MaxDelaySeconds, JitterStrategy) and
Catch (ErrorEquals, ResultPath, Next). JSONPath is the `$.a.b[0]` subset. Anything else in a
definition is refused when it is loaded, not half-executed.

As in Step Functions, `States.ALL` matches neither `States.Runtime` (which nothing catches: the
execution fails) nor `States.DataLimitExceeded` (caught only when named). `TimeoutSeconds`
(of the machine and of a task) is accepted but not enforced here: the embedded runtime bounds
a run by its own time limits.
"""

from __future__ import annotations

import copy
import json
import random
import re
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

LAMBDA_INVOKE = "arn:aws:states:::lambda:invoke"
_SUPPORTED_TYPES = {"Task", "Choice", "Pass", "Wait", "Succeed", "Fail"}
_STATE_FIELDS = {
    "Type", "Comment", "Next", "End", "InputPath", "OutputPath", "Parameters", "ResultSelector",
    "ResultPath", "Retry", "Catch", "Resource", "Choices", "Default", "Error", "Cause", "Result",
    "TimeoutSeconds", "Seconds", "SecondsPath",
}  # fmt: skip
_COMPARISONS: dict[str, Callable[[Any, Any], bool]] = {
    "BooleanEquals": lambda a, b: isinstance(a, bool) and a == b,
    "StringEquals": lambda a, b: isinstance(a, str) and a == b,
    "NumericEquals": lambda a, b: isinstance(a, int | float) and not isinstance(a, bool) and a == b,
    "NumericLessThan": lambda a, b: isinstance(a, int | float) and a < b,
    "NumericGreaterThan": lambda a, b: isinstance(a, int | float) and not isinstance(a, bool) and a > b,
    "NumericGreaterThanEquals": lambda a, b: isinstance(a, int | float) and a >= b,
}
_TOP_FIELDS = {"Comment", "StartAt", "States", "TimeoutSeconds", "Version", "QueryLanguage"}
_RETRIER_FIELDS = {
    "ErrorEquals", "IntervalSeconds", "MaxAttempts", "BackoffRate", "MaxDelaySeconds", "JitterStrategy",
}  # fmt: skip
# Errors `States.ALL` does not match; the first cannot be caught at all.
_UNCATCHABLE = "States.Runtime"
_NOT_IN_ALL = {"States.Runtime", "States.DataLimitExceeded"}
_PATH_PART = re.compile(r"\.([A-Za-z_][A-Za-z0-9_-]*)|\[(\d+)\]")

# function name -> handler(payload) -> result; a raised exception is the task's error.
Invoke = Callable[[str, Any], Any]


class DefinitionError(ValueError):
    """The definition uses something this interpreter does not implement."""


@dataclass
class ExecutionFailedError(Exception):
    """The execution ended in a Fail state or an uncaught error."""

    error: str
    cause: str

    def __str__(self) -> str:
        return f"{self.error}: {self.cause}"


@dataclass
class TaskError(Exception):
    """How a failed task reports itself to Retry and Catch (`Error` and `Cause`)."""

    error: str
    cause: str


def load_definition(path: Path, substitutions: Mapping[str, str]) -> dict[str, Any]:
    """The definition with `${Name}` replaced, as SAM's DefinitionSubstitutions does."""
    text = path.read_text()
    for name, value in substitutions.items():
        text = text.replace("${" + name + "}", value)
    leftover = re.findall(r"\$\{(\w+)\}", text)
    if leftover:
        raise DefinitionError(f"no substitution for {', '.join(sorted(set(leftover)))}")
    definition: dict[str, Any] = json.loads(text)
    validate(definition)
    return definition


def validate(definition: Mapping[str, Any]) -> None:
    states = definition.get("States") or {}
    if definition.get("QueryLanguage", "JSONPath") != "JSONPath":
        raise DefinitionError("only JSONPath definitions are supported")
    unknown_top = set(definition) - _TOP_FIELDS
    if unknown_top:
        raise DefinitionError(f"fields {sorted(unknown_top)} are not supported")
    if definition.get("StartAt") not in states:
        raise DefinitionError(f"StartAt {definition.get('StartAt')!r} is not a state")
    for name, state in states.items():
        kind = state.get("Type")
        if kind not in _SUPPORTED_TYPES:
            raise DefinitionError(f"state {name!r}: type {kind!r} is not supported")
        unknown = set(state) - _STATE_FIELDS
        if unknown:
            raise DefinitionError(f"state {name!r}: fields {sorted(unknown)} are not supported")
        if kind == "Task" and state.get("Resource") != LAMBDA_INVOKE:
            raise DefinitionError(f"state {name!r}: only {LAMBDA_INVOKE} tasks are supported")
        if kind == "Wait" and len({"Seconds", "SecondsPath"} & set(state)) != 1:
            raise DefinitionError(f"state {name!r}: a Wait needs exactly one of Seconds and SecondsPath")
        if kind == "Wait" and not _whole_seconds(state.get("Seconds", 0)):
            raise DefinitionError(f"state {name!r}: Seconds must be a whole number >= 0")
        for retrier in state.get("Retry", []):
            if set(retrier) - _RETRIER_FIELDS:
                raise DefinitionError(
                    f"state {name!r}: retrier fields {sorted(set(retrier) - _RETRIER_FIELDS)}"
                )
            if retrier.get("JitterStrategy", "NONE") not in ("NONE", "FULL"):
                raise DefinitionError(f"state {name!r}: JitterStrategy must be NONE or FULL")
        for choice in state.get("Choices", []):
            if not set(choice) & set(_COMPARISONS):
                raise DefinitionError(f"state {name!r}: unsupported choice rule {choice}")


def _whole_seconds(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool) and value >= 0


def read_path(data: Any, path: str) -> Any:
    if path == "$":
        return data
    if not path.startswith("$"):
        raise DefinitionError(f"not a JSONPath: {path!r}")
    value = data
    for key, index in _PATH_PART.findall(path[1:]):
        try:
            value = value[key] if key else value[int(index)]
        except (KeyError, IndexError, TypeError):
            raise TaskError("States.Runtime", f"the path {path!r} matched nothing in the input") from None
    return value


def _write_path(data: Any, path: str | None, value: Any) -> Any:
    if path is None:
        return data
    if path == "$":
        return value
    parts = [k for k, _ in _PATH_PART.findall(path[1:])]
    out = copy.deepcopy(data) if isinstance(data, dict) else {}
    target = out
    for key in parts[:-1]:
        target = target.setdefault(key, {})
    target[parts[-1]] = value
    return out


def _template(template: Any, data: Any) -> Any:
    if isinstance(template, dict):
        out = {}
        for key, value in template.items():
            if key.endswith(".$"):
                out[key[:-2]] = read_path(data, value)
            else:
                out[key] = _template(value, data)
        return out
    if isinstance(template, list):
        return [_template(v, data) for v in template]
    return template


def _matches(error: str, names: list[str]) -> bool:
    if error in names:
        return True
    if error in _NOT_IN_ALL:
        return False
    if "States.ALL" in names:
        return True
    return "States.TaskFailed" in names and error != "States.Timeout"


@dataclass
class Interpreter:
    definition: Mapping[str, Any]
    invoke: Invoke
    sleep: Callable[[float], None] = time.sleep
    # FULL jitter: the wait is drawn between 0 and the backoff (injectable for tests).
    jitter: Callable[[float], float] = field(default=lambda delay: random.uniform(0, delay))
    # Names of the states entered, in order (for tests and traces).
    trace: list[str] = field(default_factory=list)

    def run(self, execution_input: Any) -> Any:
        states = self.definition["States"]
        name = self.definition["StartAt"]
        data = execution_input
        while True:
            state = states[name]
            self.trace.append(name)
            kind = state["Type"]
            if kind == "Succeed":
                return read_path(data, state.get("OutputPath", "$"))
            if kind == "Fail":
                raise ExecutionFailedError(state.get("Error", "States.Fail"), state.get("Cause", ""))
            if kind == "Choice":
                name = self._choose(state, data)
                continue
            try:
                data = self._wait(state, data) if kind == "Wait" else self._task_or_pass(state, data)
            except TaskError as exc:
                catchers = [] if exc.error == _UNCATCHABLE else state.get("Catch", [])
                catcher = next((c for c in catchers if _matches(exc.error, c["ErrorEquals"])), None)
                if catcher is None:
                    raise ExecutionFailedError(exc.error, exc.cause) from None
                data = _write_path(
                    data, catcher.get("ResultPath", "$"), {"Error": exc.error, "Cause": exc.cause}
                )
                name = catcher["Next"]
                continue
            if state.get("End"):
                return data
            name = state["Next"]

    def _choose(self, state: Mapping[str, Any], data: Any) -> str:
        for rule in state["Choices"]:
            try:
                value = read_path(data, rule["Variable"])
            except TaskError:
                continue
            for op, compare in _COMPARISONS.items():
                if op in rule and compare(value, rule[op]):
                    return str(rule["Next"])
        if "Default" not in state:
            raise TaskError("States.NoChoiceMatched", "no choice rule matched and there is no Default")
        return str(state["Default"])

    def _wait(self, state: Mapping[str, Any], data: Any) -> Any:
        effective = read_path(data, state.get("InputPath", "$"))
        seconds = state["Seconds"] if "Seconds" in state else read_path(effective, state["SecondsPath"])
        if not _whole_seconds(seconds):
            raise TaskError(
                "States.Runtime", f"a Wait's seconds must be a whole number >= 0, not {seconds!r}"
            )
        self.sleep(seconds)
        return read_path(effective, state.get("OutputPath", "$"))

    def _task_or_pass(self, state: Mapping[str, Any], data: Any) -> Any:
        effective = read_path(data, state.get("InputPath", "$"))
        if "Parameters" in state:
            effective = _template(state["Parameters"], effective)
        if state["Type"] == "Pass":
            result = state.get("Result", effective)
        else:
            result = self._invoke_with_retries(state, effective)
            if "ResultSelector" in state:
                result = _template(state["ResultSelector"], result)
        out = _write_path(data, state.get("ResultPath", "$"), result)
        return read_path(out, state.get("OutputPath", "$"))

    def _invoke_with_retries(self, state: Mapping[str, Any], params: Mapping[str, Any]) -> Any:
        attempts: dict[int, int] = {}
        while True:
            try:
                payload = self.invoke(params["FunctionName"], params.get("Payload", {}))
            except Exception as exc:  # the handler's error is the task's error, as in Lambda
                error = TaskError(
                    type(exc).__name__,
                    json.dumps({"errorType": type(exc).__name__, "errorMessage": str(exc)}),
                )
            else:
                return {"ExecutedVersion": "$LATEST", "Payload": payload, "StatusCode": 200}
            for index, retrier in enumerate(state.get("Retry", [])):
                if not _matches(error.error, retrier["ErrorEquals"]):
                    continue
                done = attempts.get(index, 0)
                if done >= retrier.get("MaxAttempts", 3):
                    raise error
                delay = retrier.get("IntervalSeconds", 1) * retrier.get("BackoffRate", 2.0) ** done
                delay = min(delay, retrier.get("MaxDelaySeconds", delay))
                if retrier.get("JitterStrategy") == "FULL":
                    delay = self.jitter(delay)
                self.sleep(delay)
                attempts[index] = done + 1
                break
            else:
                raise error
