"""Plays a flow scenario end to end on each runtime: submit through the API, let the run state
machine execute it (real Chromium, the fake model), and collect what the run recorded."""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import boto3
import httpx
import pytest

from altostratus.api.gateway_event import http_api_event
from altostratus.domain import events as ev
from altostratus.domain.view import RunView
from altostratus.orchestration.asl import load_definition
from altostratus.orchestration.handlers import AgentSlices
from altostratus.runtimes import aws as aws_runtime
from altostratus.runtimes.browsers import browser_provider
from altostratus.runtimes.embedded import EmbeddedService
from altostratus.runtimes.local_runner import FUNCTIONS, STATE_MACHINE
from altostratus.runtimes.settings import Settings
from tests.fakes.anthropic_server import FakeAnthropicServer
from tests.flow.scenarios import FlowScenario
from tests.support.aws import moto_aws
from tests.support.fixture_site import FixtureSite
from tests.support.functions import FakeLambdaContext, load_function
from tests.support.inproc_lambda import InProcessLambdas

TERMINAL = {"completed", "failed", "terminated", "timed_out", "canceled"}


@dataclass
class Played:
    view: RunView
    events: list[ev.Event]
    published: list[str] = field(default_factory=list)  # detail-types seen on the bus

    @property
    def types(self) -> list[str]:
        return [e.type for e in self.events]


def _wait(read_status: Callable[[], str], timeout_s: float = 120) -> None:
    deadline = time.monotonic() + timeout_s
    while read_status() not in TERMINAL:
        if time.monotonic() > deadline:
            raise AssertionError("the run did not end in time")
        time.sleep(0.05)


def play_embedded(scenario: FlowScenario, tmp: Path, site: FixtureSite, model: FakeAnthropicServer) -> Played:
    settings = Settings(
        data_dir=tmp / "embedded",
        port=0,
        anthropic_api_key=model.api_key,
        anthropic_base_url=model.base_url,
        max_browsers=1,
    )
    browsers = scenario.faults(browser_provider(settings, embedded=True))
    service = EmbeddedService(settings, browsers=browsers)
    key = service.runtime.ensure_dev_key()
    assert key is not None
    with service, httpx.Client(base_url=service.base_url, headers={"x-api-key": key}, timeout=30) as http:
        submitted: dict[str, str] = {}
        model.set_policy(
            scenario.policy(lambda: http.post(f"/v1/runs/{submitted['id']}/cancel").raise_for_status())
        )
        reply = http.post("/v1/run/tasks", json=scenario.request(site))
        assert reply.status_code == 200, reply.text
        submitted["id"] = run_id = reply.json()["run_id"]
        _wait(lambda: str(http.get(f"/v1/runs/{run_id}").json()["status"]))
        assert service.runner.wait_idle(timeout=60)
        view = service.runtime.event_log.get_view(run_id)
        assert view is not None
        return Played(view, service.runtime.event_log.read(run_id))


@dataclass
class AwsStack:
    lambdas: InProcessLambdas
    api: Any
    key: str
    everything_url: str
    monkeypatch: pytest.MonkeyPatch

    def call_api(self, method: str, path: str, body: Any = None) -> dict[str, Any]:
        event = http_api_event(
            method,
            path,
            headers={"x-api-key": self.key, "content-type": "application/json"},
            body=json.dumps(body) if body is not None else None,
        )
        out: dict[str, Any] = self.api.handler(event, FakeLambdaContext("api"))
        return out

    def published(self) -> list[str]:
        sqs = boto3.client("sqs", region_name="us-east-1")
        types = []
        while batch := sqs.receive_message(QueueUrl=self.everything_url, MaxNumberOfMessages=10).get(
            "Messages", []
        ):
            types += [json.loads(m["Body"])["detail-type"] for m in batch]
        return types


@contextmanager
def aws_stack(monkeypatch: pytest.MonkeyPatch, model: FakeAnthropicServer) -> Iterator[AwsStack]:
    """moto running the real template pieces: tables, bucket, the run state machine (the same
    ASL file, executed), the four task functions and the api and publisher functions, with
    their invocations routed in process."""
    config = {"stepfunctions": {"execute_state_machine": True}, "lambda": {"use_docker": False}}
    with moto_aws(config=config) as aws, InProcessLambdas() as lambdas:
        env = {
            **aws.environment(),
            "ANTHROPIC_API_KEY": model.api_key,
            "ALTO_ANTHROPIC_BASE_URL": model.base_url,
            # The fixture site is on loopback, which the AWS runtime refuses unless allowed.
            "ALTO_ALLOWED_TARGETS": "127.0.0.1",
            "ALTO_EVENT_BUS_NAME": "altostratus-flow",
        }
        for name, value in env.items():
            monkeypatch.setenv(name, value)
        arns = {sub: lambdas.deploy(fn, load_function(fn).handler) for sub, fn in FUNCTIONS.items()}
        definition = load_definition(STATE_MACHINE, arns)
        iam = boto3.client("iam", region_name="us-east-1")
        role = iam.create_role(RoleName="sfn-run", AssumeRolePolicyDocument="{}")["Role"]["Arn"]
        machine = boto3.client("stepfunctions", region_name="us-east-1").create_state_machine(
            name="altostratus-run", definition=json.dumps(definition), roleArn=role
        )
        monkeypatch.setenv("ALTO_STATE_MACHINE_ARN", machine["stateMachineArn"])

        events = boto3.client("events", region_name="us-east-1")
        sqs = boto3.client("sqs", region_name="us-east-1")
        events.create_event_bus(Name="altostratus-flow")
        everything_url = sqs.create_queue(QueueName="everything")["QueueUrl"]
        everything_arn = sqs.get_queue_attributes(QueueUrl=everything_url, AttributeNames=["QueueArn"])[
            "Attributes"
        ]["QueueArn"]
        events.put_rule(
            Name="all", EventBusName="altostratus-flow", EventPattern=json.dumps({"source": ["altostratus"]})
        )
        events.put_targets(
            Rule="all", EventBusName="altostratus-flow", Targets=[{"Id": "q", "Arn": everything_arn}]
        )

        for cached in (
            aws_runtime.runtime,
            aws_runtime.lifecycle,
            aws_runtime.agent_slices,
            aws_runtime.publisher,
        ):
            cached.cache_clear()
        lambdas.deploy("publisher", load_function("publisher").handler)
        stream = boto3.client("dynamodb", region_name="us-east-1").describe_table(TableName=aws.events_table)
        boto3.client("lambda", region_name="us-east-1").create_event_source_mapping(
            EventSourceArn=stream["Table"]["LatestStreamArn"],
            FunctionName="publisher",
            StartingPosition="TRIM_HORIZON",
            FunctionResponseTypes=["ReportBatchItemFailures"],
        )
        org = aws_runtime.runtime().keys.create_org("acme")
        _, key = aws_runtime.runtime().keys.create_key(org.org_id)
        try:
            yield AwsStack(lambdas, load_function("api"), key, everything_url, monkeypatch)
        finally:
            for cached in (
                aws_runtime.runtime,
                aws_runtime.lifecycle,
                aws_runtime.agent_slices,
                aws_runtime.publisher,
            ):
                cached.cache_clear()


def play_aws(
    scenario: FlowScenario, monkeypatch: pytest.MonkeyPatch, site: FixtureSite, model: FakeAnthropicServer
) -> Played:
    with aws_stack(monkeypatch, model) as stack:
        # The agent_step function's slices, with the scenario's browser faults around the real
        # Chromium provider (functions/agent_step/app.py calls this `agent_slices`).
        real = aws_runtime.agent_slices()
        faulty = AgentSlices(
            agent=real.agent,
            browsers=scenario.faults(real.browsers),
            budget=real.budget,
            browser_gone=real.browser_gone,
        )
        module = load_function("agent_step")
        monkeypatch.setattr(module, "agent_slices", lambda: faulty)
        stack.lambdas.register("agent_step", module.handler)
        submitted: dict[str, str] = {}
        model.set_policy(
            scenario.policy(lambda: stack.call_api("POST", f"/v1/runs/{submitted['id']}/cancel"))
        )
        reply = stack.call_api("POST", "/v1/run/tasks", scenario.request(site))
        assert reply["statusCode"] == 200, reply["body"]
        submitted["id"] = run_id = json.loads(reply["body"])["run_id"]
        sfn = boto3.client("stepfunctions", region_name="us-east-1")
        execution = next(iter(sfn.list_executions(stateMachineArn=_machine_arn())["executions"]))
        assert execution["name"] == run_id
        _wait(
            lambda: (
                "completed"
                if sfn.describe_execution(executionArn=execution["executionArn"])["status"] != "RUNNING"
                else "running"
            )
        )
        stack.lambdas.drain()
        log = aws_runtime.runtime().event_log
        view = log.get_view(run_id)
        assert view is not None
        return Played(view, log.read(run_id), stack.published())


def _machine_arn() -> str:
    import os

    return os.environ["ALTO_STATE_MACHINE_ARN"]
