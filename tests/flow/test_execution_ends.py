"""No run is left `running` or `queued` forever on AWS (moto): the real state machine, the real
run_start / run_finish / run_failed / run_sweeper functions and the template's execution-status
rule and queue, with an agent step the test scripts.

moto runs the executions but does not emit Step Functions' status-change events; `emit_status`
puts on the default bus the event AWS sends (built from describe_execution), and moto's
EventBridge matches it against the template's pattern and delivers it to the queue."""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

import boto3
import pytest

from altostratus.api.gateway_event import http_api_event
from altostratus.orchestration.asl import load_definition
from altostratus.orchestration.execution_ends import ABORTED_REASON, STATUS_CHANGE, TIMED_OUT_REASON
from altostratus.runtimes import aws as aws_runtime
from altostratus.runtimes.local_runner import FUNCTIONS, STATE_MACHINE
from tests.support.aws import moto_aws
from tests.support.functions import FakeLambdaContext, load_function
from tests.support.inproc_lambda import InProcessLambdas
from tests.support.template import load_template, resource

REGION = "us-east-1"
COMPLETED = {"status": "completed", "output": {"ok": True}}


def _completed(event: dict[str, Any]) -> dict[str, Any]:
    """What agent_step answers for a run that completed in its first slice."""
    return {
        "run_id": event["run_id"],
        "continue": False,
        "slice": 1,
        "outcome": COMPLETED,
        "code_wait_seconds": 0,  # it waits for no one-time code
        "code_answers": None,
    }


@dataclass
class Steps:
    """agent_step as the test scripts it: `behaviour(event)` answers each slice."""

    behaviour: Callable[[dict[str, Any]], Any] = lambda event: _completed(event)
    calls: list[dict[str, Any]] = field(default_factory=list)

    def handler(self, event: dict[str, Any], context: Any) -> Any:
        self.calls.append(event)
        return self.behaviour(event)


@dataclass
class Stack:
    lambdas: InProcessLambdas
    steps: Steps
    api: Any
    key: str
    machine_arn: str
    sfn: Any
    monkeypatch: pytest.MonkeyPatch
    broken_record_failure: list[bool] = field(default_factory=lambda: [False])

    def submit(self) -> str:
        event = http_api_event(
            "POST",
            "/v1/run/tasks",
            headers={"x-api-key": self.key, "content-type": "application/json"},
            body=json.dumps({"prompt": "Find the price", "url": "https://example.com/"}),
        )
        reply = self.api.handler(event, FakeLambdaContext("api"))
        assert reply["statusCode"] == 200, reply["body"]
        return str(json.loads(reply["body"])["run_id"])

    def execution(self, run_id: str) -> str:
        return f"{self.machine_arn.replace(':stateMachine:', ':execution:')}:{run_id}"

    def wait_ended(self, run_id: str, timeout_s: float = 30) -> dict[str, Any]:
        deadline = time.monotonic() + timeout_s
        while (described := self.sfn.describe_execution(executionArn=self.execution(run_id)))[
            "status"
        ] == "RUNNING":
            assert time.monotonic() < deadline, "the execution never ended"
            time.sleep(0.05)
        return dict(described)

    def emit_status(self, run_id: str) -> None:
        """The status-change event Step Functions sends when an execution ends."""
        described = self.sfn.describe_execution(executionArn=self.execution(run_id))
        detail = {
            "executionArn": described["executionArn"],
            "stateMachineArn": described["stateMachineArn"],
            "name": described["name"],
            "status": described["status"],
            "startDate": int(described["startDate"].timestamp() * 1000),
            "stopDate": int(described["stopDate"].timestamp() * 1000) if "stopDate" in described else None,
            "input": described.get("input"),
            "output": described.get("output"),
            "error": described.get("error"),
            "cause": described.get("cause"),
        }
        boto3.client("events", region_name=REGION).put_events(
            Entries=[
                {
                    "Source": "aws.states",
                    "DetailType": STATUS_CHANGE,
                    "Detail": json.dumps(detail),
                    "Resources": [described["executionArn"]],
                }
            ]
        )
        self.lambdas.drain()

    def view(self, run_id: str) -> Any:
        view = aws_runtime.runtime().event_log.get_view(run_id)
        assert view is not None
        return view

    def sweep(self) -> dict[str, Any]:
        reply = boto3.client("lambda", region_name=REGION).invoke(FunctionName="run_sweeper", Payload=b"{}")
        assert "FunctionError" not in reply, reply["Payload"].read()
        out: dict[str, Any] = json.loads(reply["Payload"].read())
        return out


def _status_rule(machine_arn: str, queue_arn: str) -> None:
    """The template's ExecutionStatusRule and its queue target, for this machine."""
    pattern = resource(load_template(), "ExecutionStatusRule")["EventPattern"]
    assert pattern["detail"]["stateMachineArn"] == [{"Ref": "RunStateMachine"}]
    pattern = {**pattern, "detail": {**pattern["detail"], "stateMachineArn": [machine_arn]}}
    events = boto3.client("events", region_name=REGION)
    events.put_rule(Name="execution-status", EventPattern=json.dumps(pattern))
    events.put_targets(Rule="execution-status", Targets=[{"Id": "q", "Arn": queue_arn}])


@pytest.fixture
def machine_timeout() -> int:
    return 60


@pytest.fixture
def stack(monkeypatch: pytest.MonkeyPatch, machine_timeout: int) -> Iterator[Stack]:
    config = {"stepfunctions": {"execute_state_machine": True}, "lambda": {"use_docker": False}}
    with moto_aws(config=config) as aws, InProcessLambdas() as lambdas:
        for name, value in {**aws.environment(), "ALTO_SWEEP_AFTER_SECONDS": "0"}.items():
            monkeypatch.setenv(name, value)
        aws_runtime.forget_environment()
        steps = Steps()
        record_failure_broken = [False]
        failed_fn = load_function("run_failed")

        def run_failed(event: dict[str, Any], context: Any) -> Any:
            # "Record failure" can be made to fail (throttled, broken deploy); the rule's queue
            # still reaches the same function.
            if "Records" not in event and record_failure_broken[0]:
                raise RuntimeError("Record failure is down")
            return failed_fn.handler(event, context)

        handlers = {
            "run_start": load_function("run_start").handler,
            "agent_step": steps.handler,
            "run_finish": load_function("run_finish").handler,
            "run_failed": run_failed,
        }
        arns = {sub: lambdas.deploy(fn, handlers[fn]) for sub, fn in FUNCTIONS.items()}
        definition = load_definition(STATE_MACHINE, arns)
        definition["TimeoutSeconds"] = machine_timeout  # short enough to reach in a test
        definition["States"]["Record failure"]["Retry"][0]["MaxAttempts"] = 1
        sfn = boto3.client("stepfunctions", region_name=REGION)
        machine_arn = sfn.create_state_machine(
            name="altostratus-run", definition=json.dumps(definition), roleArn=lambdas._role()
        )["stateMachineArn"]
        monkeypatch.setenv("ALTO_STATE_MACHINE_ARN", machine_arn)

        sqs = boto3.client("sqs", region_name=REGION)
        queue = sqs.create_queue(QueueName="execution-ends", Attributes={"VisibilityTimeout": "0"})
        queue_arn = sqs.get_queue_attributes(QueueUrl=queue["QueueUrl"], AttributeNames=["QueueArn"])[
            "Attributes"
        ]["QueueArn"]
        _status_rule(machine_arn, queue_arn)
        boto3.client("lambda", region_name=REGION).create_event_source_mapping(
            EventSourceArn=queue_arn,
            FunctionName="run_failed",
            FunctionResponseTypes=["ReportBatchItemFailures"],
        )
        lambdas.deploy("run_sweeper", load_function("run_sweeper").handler)

        org = aws_runtime.runtime().keys.create_org("acme")
        _, key = aws_runtime.runtime().keys.create_key(org.org_id)
        stack = Stack(lambdas, steps, load_function("api"), key, machine_arn, sfn, monkeypatch)
        stack.broken_record_failure = record_failure_broken
        try:
            yield stack
        finally:
            aws_runtime.forget_environment()


def test_an_error_no_catch_takes_still_fails_the_run_through_the_status_rule(stack: Stack) -> None:
    # A slice answer the state machine cannot read, and "Record failure" down as well: the
    # execution fails with the run still running, and only the status rule can end it.
    stack.steps.behaviour = lambda event: {"run_id": event["run_id"]}
    stack.broken_record_failure[0] = True
    run_id = stack.submit()
    assert stack.wait_ended(run_id)["status"] == "FAILED"
    assert stack.view(run_id).status.value == "running"
    stack.emit_status(run_id)
    view = stack.view(run_id)
    assert view.status.value == "failed"
    assert view.failure_reason and "operators' logs" in view.failure_reason
    # Delivered again (EventBridge is at-least-once): still one terminal event.
    stack.emit_status(run_id)
    types = [e.type for e in aws_runtime.runtime().event_log.read(run_id)]
    assert types.count("RunFailed") == 1


def test_a_failure_the_state_machine_recorded_is_not_recorded_twice(stack: Stack) -> None:
    def boom(event: dict[str, Any]) -> Any:
        raise KeyError("unexpected")

    stack.steps.behaviour = boom
    run_id = stack.submit()
    described = stack.wait_ended(run_id)
    assert described["status"] == "FAILED" and described["error"] == "RunFailed"
    reason = stack.view(run_id).failure_reason
    stack.emit_status(run_id)
    assert stack.view(run_id).failure_reason == reason
    types = [e.type for e in aws_runtime.runtime().event_log.read(run_id)]
    assert types.count("RunFailed") == 1


@pytest.mark.parametrize("machine_timeout", [3])
def test_an_execution_past_the_machines_time_limit_times_the_run_out(stack: Stack) -> None:
    def slow(event: dict[str, Any]) -> Any:
        time.sleep(5)
        return _completed(event)

    stack.steps.behaviour = slow
    run_id = stack.submit()
    assert stack.wait_ended(run_id, timeout_s=20)["status"] == "TIMED_OUT"
    stack.emit_status(run_id)
    view = stack.view(run_id)
    assert view.status.value == "timed_out" and view.failure_reason == TIMED_OUT_REASON


def test_an_execution_stopped_by_an_operator_fails_the_run(stack: Stack) -> None:
    gate = threading.Event()

    def held(event: dict[str, Any]) -> Any:
        gate.wait(10)
        return _completed(event)

    stack.steps.behaviour = held
    run_id = stack.submit()
    deadline = time.monotonic() + 10
    while not stack.steps.calls:
        assert time.monotonic() < deadline
        time.sleep(0.02)
    stack.sfn.stop_execution(executionArn=stack.execution(run_id))
    assert stack.wait_ended(run_id)["status"] == "ABORTED"
    stack.emit_status(run_id)
    gate.set()
    view = stack.view(run_id)
    assert view.status.value == "failed" and view.failure_reason == ABORTED_REASON


def test_a_run_left_queued_without_an_execution_is_started_by_the_sweeper(stack: Stack) -> None:
    # The API wrote the run but "crashed" before starting its execution (no state machine
    # configured for it).
    stack.monkeypatch.delenv("ALTO_STATE_MACHINE_ARN")
    aws_runtime.forget_environment()
    stack.api = load_function("api")
    run_id = stack.submit()
    assert stack.view(run_id).status.value == "queued"
    assert stack.sfn.list_executions(stateMachineArn=stack.machine_arn)["executions"] == []

    stack.monkeypatch.setenv("ALTO_STATE_MACHINE_ARN", stack.machine_arn)
    aws_runtime.forget_environment()
    assert stack.sweep() == {"started": [run_id], "failed": []}
    assert stack.wait_ended(run_id)["status"] == "SUCCEEDED"
    view = stack.view(run_id)
    assert view.status.value == "completed" and view.output == {"ok": True}
    # Nothing is left for the next sweep.
    assert stack.sweep() == {"started": [], "failed": []}


def test_the_sweeper_leaves_young_runs_and_runs_whose_execution_is_running(stack: Stack) -> None:
    gate = threading.Event()

    def held(event: dict[str, Any]) -> Any:
        gate.wait(10)
        return _completed(event)

    stack.steps.behaviour = held
    first = stack.submit()
    # The organization's cap is one run: the second run waits queued in the machine's Wait.
    stack.monkeypatch.setenv("ALTO_MAX_RUNNING_PER_ORG", "1")
    stack.monkeypatch.setenv("ALTO_ADMISSION_RETRY_SECONDS", "1")
    aws_runtime.forget_environment()
    stack.api = load_function("api")
    try:
        second = stack.submit()
        assert stack.sweep() == {"started": [], "failed": []}
        assert stack.view(second).status.value in ("queued", "running")
        stack.monkeypatch.setenv("ALTO_SWEEP_AFTER_SECONDS", "3600")
        aws_runtime.forget_environment()
        assert stack.sweep() == {"started": [], "failed": []}
    finally:
        gate.set()
    for run_id in (first, second):
        assert stack.wait_ended(run_id)["status"] == "SUCCEEDED"


def test_embedded_an_execution_that_ends_without_its_run_fails_it(tmp_path: Any) -> None:
    """The embedded runner does what the status rule does on AWS."""
    from altostratus.adapters.sqlite_db import SQLiteDatabase
    from altostratus.adapters.sqlite_event_log import SQLiteEventLog
    from altostratus.domain import events as ev
    from altostratus.orchestration.lifecycle import RunLifecycle
    from altostratus.ports.clock import SystemClock
    from altostratus.runtimes.local_runner import LocalRunner
    from tests.support.runs import created, d

    db = SQLiteDatabase(tmp_path / "alto.db")
    log = SQLiteEventLog(db, SystemClock())
    lifecycle = RunLifecycle(log)
    recorded: list[dict[str, Any]] = []

    def record_failure(event: dict[str, Any]) -> dict[str, Any]:
        recorded.append(event)
        return lifecycle.failed(event)

    runner = LocalRunner(
        handlers={
            "run_start": lifecycle.start,
            # An answer the state machine cannot read: States.Runtime, which nothing catches.
            "agent_step": lambda event: {"run_id": event["run_id"]},
            "run_finish": lifecycle.finish,
            "run_failed": record_failure,
        },
        event_log=log,
        unfinished=log.unfinished_runs,
        sleep=lambda s: None,
    )
    log.append("tsk_1", [created("o_1"), d(ev.RunQueued())])
    try:
        runner.execute("tsk_1")
        view = log.get_view("tsk_1")
        assert view is not None and view.status.value == "failed"
        assert view.failure_reason and "operators' logs" in view.failure_reason
        # No Catch took it ("Record failure" was never entered); the runner recorded it after.
        assert [e["error"]["Error"] for e in recorded] == ["States.Runtime"]
    finally:
        runner.shutdown(timeout=5)
        db.close()
