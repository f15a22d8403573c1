"""Plays a flow scenario end to end on each runtime: submit through the API, let the run state
machine execute it (real Chromium, the fake model), and collect what the run recorded."""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Iterable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import boto3
import httpx
import pytest
import requests
from skyvern.client import Skyvern as SkyvernClient

from altostratus.api.gateway_event import http_api_event
from altostratus.domain import events as ev
from altostratus.domain.view import RunView
from altostratus.orchestration.asl import load_definition
from altostratus.orchestration.slices import AgentSlices
from altostratus.runtimes import aws as aws_runtime
from altostratus.runtimes.browsers import browser_provider
from altostratus.runtimes.embedded import EmbeddedService
from altostratus.runtimes.local_runner import FUNCTIONS, STATE_MACHINE
from altostratus.runtimes.settings import Settings
from tests.fakes.anthropic_server import FakeAnthropicServer
from tests.flow.scenarios import FlowScenario
from tests.support.aws import moto_aws
from tests.support.fixture_site import FixtureSite
from tests.support.functions import FakeLambdaContext, function_client, load_function
from tests.support.inproc_lambda import InProcessLambdas
from tests.support.links import Fetched, assert_links_answer_stored_bytes, http_fetch

TERMINAL = {"completed", "failed", "terminated", "timed_out", "canceled"}
# Where the SDK and the links reach the api function (API Gateway's address, as the caller saw it).
API_BASE = "https://api.example.test"


@dataclass
class Played:
    view: RunView
    events: list[ev.Event]
    published: list[str] = field(default_factory=list)  # detail-types seen on the bus
    # The scenario's other runs, in submission order (when it submits more than one).
    others: list[Played] = field(default_factory=list)
    # Every run's status, as read each time the driver looked while they executed.
    snapshots: list[dict[str, str]] = field(default_factory=list)
    # Per run: how many times its execution waited for a slot (AWS: the execution history).
    slot_waits: dict[str, int] = field(default_factory=dict)
    # Every link the runs' answers handed out, each fetched without a key once they had ended
    # and found to answer the bytes as stored.
    links: list[Fetched] = field(default_factory=list)

    @property
    def types(self) -> list[str]:
        return [e.type for e in self.events]


def _watch(
    read_status: Callable[[str], str], run_ids: list[str], timeout_s: float = 180
) -> list[dict[str, str]]:
    """Reads every run's status until all have ended; the statuses seen at each look.

    A look reads every run twice, one pass after the other, and keeps a status only where both
    passes agree ("changing" otherwise): statuses only move forward, so a run seen with one status
    in both passes held it at the instant between the passes, for every run of the look alike.
    One pass alone can show a run that ended before the next one started as both running."""
    deadline = time.monotonic() + timeout_s
    snapshots = []
    while True:
        first = {run_id: read_status(run_id) for run_id in run_ids}
        second = {run_id: read_status(run_id) for run_id in run_ids}
        snapshot = {r: first[r] if first[r] == second[r] else "changing" for r in run_ids}
        snapshots.append(snapshot)
        if all(status in TERMINAL for status in snapshot.values()):
            return snapshots
        if time.monotonic() > deadline:
            raise AssertionError(f"the runs did not end in time: {snapshot}")
        time.sleep(0.05)


def _settings_for(scenario: FlowScenario) -> dict[str, Any]:
    if scenario.max_running_per_org is None:
        return dict(scenario.settings)
    return {"max_running_per_org": scenario.max_running_per_org, **scenario.settings}


def play_embedded(
    scenario: FlowScenario,
    tmp: Path,
    site: FixtureSite,
    model: FakeAnthropicServer,
    *,
    before_stop: Callable[[httpx.Client, list[str]], None] | None = None,
) -> Played:
    """`before_stop(api, run_ids)` looks at the ended runs while the server still serves."""
    settings = Settings(
        data_dir=tmp / "embedded",
        port=0,
        anthropic_api_key=model.api_key,
        anthropic_base_url=model.base_url,
        # More workers than the cap lets, so the cap is what holds a run back, not the pool.
        max_browsers=scenario.runs,
        **_settings_for(scenario),
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
        run_ids = []
        for _ in range(scenario.runs):
            reply = http.post("/v1/run/tasks", json=scenario.request(site))
            assert reply.status_code == 200, reply.text
            run_ids.append(reply.json()["run_id"])
            submitted.setdefault("id", run_ids[0])
        snapshots = _watch(lambda run_id: str(http.get(f"/v1/runs/{run_id}").json()["status"]), run_ids)
        assert service.runner.wait_idle(timeout=60)
        links = _embedded_links(http, service, run_ids)
        if before_stop is not None:
            before_stop(http, run_ids)
        log = service.runtime.event_log
        played = [_played(log.get_view(run_id), log.read(run_id)) for run_id in run_ids]
        return replace(played[0], others=played[1:], snapshots=snapshots, links=links)


def _embedded_links(http: httpx.Client, service: EmbeddedService, run_ids: list[str]) -> list[Fetched]:
    """Every link the runs' answers hand out (as `AwsStack.assert_links_answer_stored_bytes`),
    fetched over HTTP without a key: each answers the bytes in the data directory's store."""
    uris = {}
    answers: list[Mapping[str, Any]] = []
    for run_id in run_ids:
        listed = http.get(f"/v1/runs/{run_id}/artifacts").json()
        records = service.runtime.event_log.list_artifacts(run_id)
        assert sorted(a["artifact_id"] for a in listed) == sorted(r.artifact_id for r in records)
        uris |= {r.artifact_id: r.uri for r in records}
        answers += [http.get(f"/v1/runs/{run_id}").json(), *listed]
    return assert_links_answer_stored_bytes(
        answers, fetch=http_fetch, uris=uris, read=service.runtime.artifacts.get
    )


def _played(view: RunView | None, events: list[ev.Event]) -> Played:
    assert view is not None
    return Played(view, events)


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

    def sdk(self) -> SkyvernClient:
        """The official SDK, its requests reaching the api function as API Gateway events."""
        return SkyvernClient(
            base_url=API_BASE,
            api_key=self.key,
            httpx_client=function_client(self.api.handler),
        )

    def fetch_link(self, link: str) -> tuple[int, bytes]:
        """A link the API handed out, fetched with nothing but what it carries: through the api
        function it points at, then, for a file too large for a Lambda answer, from the
        short-lived S3 link the function redirects to (moto answers `requests` in process)."""
        parts = urlsplit(link)
        assert f"{parts.scheme}://{parts.netloc}" == API_BASE, link  # the API's own link
        with function_client(self.api.handler) as client:
            reply = client.get(link)
        if reply.status_code == 302:
            direct = requests.get(reply.headers["location"], timeout=30)
            return direct.status_code, direct.content
        return reply.status_code, reply.content

    def assert_links_answer_stored_bytes(
        self, *run_ids: str, also: Iterable[Mapping[str, Any]] = ()
    ) -> list[Fetched]:
        """Every link the runs' answers hand out (GET /v1/runs/{id}: screenshots, recording,
        downloads; GET /v1/runs/{id}/artifacts: each signed_url) and those in `also` (answers
        about the same runs: a session, a viewer page's details), fetched without a key as
        `fetch_link` does: each answers exactly the object in the bucket, read with boto3."""
        uris = {}
        answers: list[Mapping[str, Any]] = [*also]
        with function_client(self.api.handler) as api:
            for run_id in run_ids:
                run = api.get(f"{API_BASE}/v1/runs/{run_id}", headers={"x-api-key": self.key})
                listed = api.get(f"{API_BASE}/v1/runs/{run_id}/artifacts", headers={"x-api-key": self.key})
                assert run.status_code == 200 and listed.status_code == 200, (run.text, listed.text)
                records = aws_runtime.runtime().event_log.list_artifacts(run_id)
                # The listing is every artifact the run stored.
                listed_ids = sorted(a["artifact_id"] for a in listed.json())
                assert listed_ids == sorted(r.artifact_id for r in records)
                uris |= {r.artifact_id: r.uri for r in records}
                answers += [run.json(), *listed.json()]
        return assert_links_answer_stored_bytes(answers, fetch=self.fetch_link, uris=uris, read=_s3_object)

    def published(self) -> list[str]:
        sqs = boto3.client("sqs", region_name="us-east-1")
        types = []
        while batch := sqs.receive_message(QueueUrl=self.everything_url, MaxNumberOfMessages=10).get(
            "Messages", []
        ):
            types += [json.loads(m["Body"])["detail-type"] for m in batch]
        return types


@contextmanager
def aws_stack(
    monkeypatch: pytest.MonkeyPatch, model: FakeAnthropicServer, scenario: FlowScenario | None = None
) -> Iterator[AwsStack]:
    """moto running the real template pieces: tables, bucket, the run state machine (the same
    ASL file, executed), the four task functions and the api and publisher functions, with
    their invocations routed in process."""
    config = {"stepfunctions": {"execute_state_machine": True}, "lambda": {"use_docker": False}}
    limits = {f"ALTO_{k.upper()}": str(v) for k, v in _settings_for(scenario).items()} if scenario else {}
    with moto_aws(config=config) as aws, InProcessLambdas() as lambdas:
        env = {
            **aws.environment(),
            "ANTHROPIC_API_KEY": model.api_key,
            "ALTO_ANTHROPIC_BASE_URL": model.base_url,
            # The fixture site is on loopback, which the AWS runtime refuses unless allowed.
            "ALTO_ALLOWED_TARGETS": "127.0.0.1",
            "ALTO_EVENT_BUS_NAME": "altostratus-flow",
            # moto's Wait states really sleep: a run over its cap asks again after a second.
            "ALTO_ADMISSION_RETRY_SECONDS": "1",
            **limits,
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

        aws_runtime.forget_environment()
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
            aws_runtime.forget_environment()


def play_aws(
    scenario: FlowScenario,
    monkeypatch: pytest.MonkeyPatch,
    site: FixtureSite,
    model: FakeAnthropicServer,
    *,
    before_stop: Callable[[AwsStack, list[str]], None] | None = None,
) -> Played:
    """`before_stop(stack, run_ids)` looks at the ended runs while moto still holds them."""
    with aws_stack(monkeypatch, model, scenario) as stack:
        # The agent_step function's slices, with the scenario's browser faults around the real
        # Chromium provider (functions/agent_step/app.py calls this `agent_slices`).
        real = aws_runtime.agent_slices()
        faulty = AgentSlices(
            agent=real.agent,
            browsers=scenario.faults(real.browsers),
            budget=real.budget,
            browser_gone=real.browser_gone,
            warm_environment=real.warm_environment,
        )
        module = load_function("agent_step")
        monkeypatch.setattr(module, "agent_slices", lambda: faulty)
        stack.lambdas.register("agent_step", module.handler)
        try:
            return _play_aws(scenario, stack, model, site, before_stop)
        finally:
            faulty.close_environment()


def _play_aws(
    scenario: FlowScenario,
    stack: AwsStack,
    model: FakeAnthropicServer,
    site: FixtureSite,
    before_stop: Callable[[AwsStack, list[str]], None] | None,
) -> Played:
    submitted: dict[str, str] = {}
    model.set_policy(scenario.policy(lambda: stack.call_api("POST", f"/v1/runs/{submitted['id']}/cancel")))
    run_ids = []
    for _ in range(scenario.runs):
        reply = stack.call_api("POST", "/v1/run/tasks", scenario.request(site))
        assert reply["statusCode"] == 200, reply["body"]
        run_ids.append(json.loads(reply["body"])["run_id"])
        submitted.setdefault("id", run_ids[0])
    sfn = boto3.client("stepfunctions", region_name="us-east-1")
    executions = {
        e["name"]: e["executionArn"]
        for e in sfn.list_executions(stateMachineArn=_machine_arn())["executions"]
    }
    assert set(executions) == set(run_ids)  # one execution per run, named by it
    log = aws_runtime.runtime().event_log

    def status(run_id: str) -> str:
        # A run's status, but "ended" only once its execution has too (it records the end last).
        view = log.get_view(run_id)
        assert view is not None
        if sfn.describe_execution(executionArn=executions[run_id])["status"] == "RUNNING":
            return "executing" if view.status.is_terminal else view.status.value
        return view.status.value

    snapshots = _watch(status, run_ids)
    stack.lambdas.drain()
    links = stack.assert_links_answer_stored_bytes(*run_ids)
    if before_stop is not None:
        before_stop(stack, run_ids)
    waits = {run_id: _slot_waits(sfn, executions[run_id]) for run_id in run_ids}
    played = [_played(log.get_view(run_id), log.read(run_id)) for run_id in run_ids]
    first = replace(played[0], published=stack.published())
    return replace(first, others=played[1:], snapshots=snapshots, slot_waits=waits, links=links)


def _s3_object(uri: str) -> bytes:
    bucket, _, key = uri.removeprefix("s3://").partition("/")
    assert uri.startswith("s3://") and key, uri
    s3 = boto3.client("s3", region_name="us-east-1")
    data: bytes = s3.get_object(Bucket=bucket, Key=key)["Body"].read()
    return data


def _slot_waits(sfn: Any, execution_arn: str) -> int:
    history = sfn.get_execution_history(executionArn=execution_arn, maxResults=1000)["events"]
    return sum(
        1
        for event in history
        if event["type"] == "WaitStateEntered"
        and event["stateEnteredEventDetails"]["name"] == "Wait for a slot"
    )


def _machine_arn() -> str:
    import os

    return os.environ["ALTO_STATE_MACHINE_ARN"]
