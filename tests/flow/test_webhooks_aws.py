"""The AWS shape on moto: events table stream -> publisher -> EventBridge -> rule -> SQS (+DLQ)
-> webhook function -> a real receiver on 127.0.0.1; and retry_run_webhook through the SDK
against the api function.

The functions are the real entry points (functions/*/app.py), run in process by the Lambda
shim; the rule's pattern and the queue's redrive come from template.yaml.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass
from types import ModuleType
from typing import Any

import boto3
import httpx
import jsonschema
import pytest
from skyvern.client import Skyvern as SkyvernClient

from altostratus.api.gateway_event import http_api_event
from altostratus.domain import events as ev
from altostratus.domain.enums import WebhookStatus
from altostratus.domain.view import RunView
from altostratus.ports.secret_box import executor_request
from altostratus.runtimes import aws as aws_runtime
from tests.support.aws import MotoAws, moto_aws
from tests.support.functions import FakeLambdaContext, function_client, load_event, load_function
from tests.support.inproc_lambda import InProcessLambdas
from tests.support.template import ROOT, load_template, resource
from tests.support.webhook_receiver import WebhookReceiver, running, statuses

MAX_ATTEMPTS = 3
SECRETS = ("Bearer S3CRET-TOKEN", "PROXYPASS")


@dataclass
class Stack:
    aws: MotoAws
    lambdas: InProcessLambdas
    api: ModuleType
    publisher: ModuleType
    webhook: ModuleType
    key: str
    queue_url: str
    dlq_url: str
    everything_url: str  # a second rule's queue: every published event, for inspection

    def call_api(self, method: str, path: str, body: Any = None) -> httpx.Response:
        event = http_api_event(
            method,
            path,
            headers={"x-api-key": self.key, "content-type": "application/json"},
            body=json.dumps(body) if body is not None else None,
        )
        out = self.api.handler(event, FakeLambdaContext("api"))
        return httpx.Response(
            out["statusCode"], headers=out.get("headers") or {}, content=out.get("body") or ""
        )

    def submit(self, **body: Any) -> str:
        reply = self.call_api("POST", "/v1/run/tasks", {"prompt": "Find the price", **body})
        assert reply.status_code == 200, reply.text
        return str(reply.json()["run_id"])

    def finish(self, run_id: str, end: ev.EventData | None = None) -> None:
        """What the state machine's tasks record when a run ends."""
        end = end or ev.RunCompleted(output={"price": 10.0})
        aws_runtime.runtime().event_log.append(run_id, [ev.Draft(data=ev.RunStarted()), ev.Draft(data=end)])

    def view(self, run_id: str) -> RunView:
        view = aws_runtime.runtime().event_log.get_view(run_id)
        assert view is not None
        return view

    def attempts(self, run_id: str) -> list[ev.WebhookAttempted]:
        events = aws_runtime.runtime().event_log.read(run_id)
        return [e.data for e in events if isinstance(e.data, ev.WebhookAttempted)]

    def messages(self, url: str) -> list[dict[str, Any]]:
        sqs = boto3.client("sqs", region_name="us-east-1")
        found = []
        while batch := sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10).get("Messages", []):
            found += [json.loads(m["Body"]) for m in batch]
        return found


def _queue(sqs: Any, name: str, **attributes: str) -> tuple[str, str]:
    url = sqs.create_queue(QueueName=name, Attributes=attributes)["QueueUrl"]
    arn = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
    return url, arn


@pytest.fixture
def stack(monkeypatch: pytest.MonkeyPatch) -> Iterator[Stack]:
    template = load_template()
    with moto_aws(config={"lambda": {"use_docker": False}}) as aws, InProcessLambdas() as lambdas:
        sqs = boto3.client("sqs", region_name="us-east-1")
        events = boto3.client("events", region_name="us-east-1")
        bus = events.create_event_bus(Name="altostratus-test")["EventBusArn"].split("/")[-1]
        dlq_url, dlq_arn = _queue(sqs, "webhook-dlq")
        redrive = {**resource(template, "WebhookQueue")["RedrivePolicy"], "deadLetterTargetArn": dlq_arn}
        assert redrive["maxReceiveCount"] == {"Ref": "WebhookMaxAttempts"}
        redrive["maxReceiveCount"] = MAX_ATTEMPTS
        # Visibility 0 instead of the template's 360 s: a failed message is visible again at once.
        queue_url, queue_arn = _queue(
            sqs, "webhook", VisibilityTimeout="0", RedrivePolicy=json.dumps(redrive)
        )
        events.put_rule(
            Name="webhook",
            EventBusName=bus,
            EventPattern=json.dumps(resource(template, "WebhookRule")["EventPattern"]),
        )
        events.put_targets(
            Rule="webhook", EventBusName=bus, Targets=[{"Id": "webhook-queue", "Arn": queue_arn}]
        )
        everything_url, everything_arn = _queue(sqs, "everything")
        events.put_rule(
            Name="everything", EventBusName=bus, EventPattern=json.dumps({"source": ["altostratus"]})
        )
        events.put_targets(
            Rule="everything", EventBusName=bus, Targets=[{"Id": "all", "Arn": everything_arn}]
        )

        environment = {
            **aws.environment(),
            "ALTO_EVENT_BUS_NAME": bus,
            "ALTO_WEBHOOK_QUEUE_URL": queue_url,
            "ALTO_WEBHOOK_MAX_ATTEMPTS": str(MAX_ATTEMPTS),
            "ALTO_WEBHOOK_BACKOFF_BASE_S": "0",
            "ALTO_ALLOWED_TARGETS": "127.0.0.1",
        }
        for name, value in environment.items():
            monkeypatch.setenv(name, value)
        aws_runtime.forget_environment()
        api, publisher, webhook = (load_function(n) for n in ("api", "publisher", "webhook"))
        lambdas.deploy("publisher", publisher.handler)
        lambdas.deploy("webhook", webhook.handler)
        lam = boto3.client("lambda", region_name="us-east-1")
        stream_arn = boto3.client("dynamodb", region_name="us-east-1").describe_table(
            TableName=aws.events_table
        )["Table"]["LatestStreamArn"]
        lam.create_event_source_mapping(
            EventSourceArn=stream_arn,
            FunctionName="publisher",
            StartingPosition="TRIM_HORIZON",
            FunctionResponseTypes=["ReportBatchItemFailures"],
        )
        lam.create_event_source_mapping(
            EventSourceArn=queue_arn,
            FunctionName="webhook",
            BatchSize=5,
            FunctionResponseTypes=["ReportBatchItemFailures"],
        )
        org = aws_runtime.runtime().keys.create_org("acme")
        _, key = aws_runtime.runtime().keys.create_key(org.org_id)
        yield Stack(aws, lambdas, api, publisher, webhook, key, queue_url, dlq_url, everything_url)
        aws_runtime.forget_environment()


def test_a_receiver_failing_twice_gets_the_run_on_the_third_attempt_through_eventbridge_and_sqs(
    stack: Stack,
) -> None:
    with running(WebhookReceiver(script=statuses(500, 500, 200))) as receiver:
        # GIVEN a run with a webhook_url, submitted through the api function
        run_id = stack.submit(webhook_url=receiver.url)
        # WHEN it ends, and the stream, the bus and the queue have done their work
        stack.finish(run_id)
        stack.lambdas.drain()
        got = list(receiver.received)

    # THEN the receiver got it on the third attempt, signed, with one webhook-id throughout
    assert [r.status for r in got] == [500, 500, 200]
    assert {r.webhook_id for r in got} == {f"msg_{run_id}"}
    assert all(r.skyvern_signature_ok(stack.key) and r.standard_signature_ok(stack.key) for r in got)
    assert got[-1].json()["run_id"] == run_id and got[-1].json()["status"] == "completed"
    assert [(a.attempt, a.status_code) for a in stack.attempts(run_id)] == [(1, 500), (2, 500), (3, 200)]
    view = stack.view(run_id)
    assert view.webhook is not None and view.webhook.status is WebhookStatus.DELIVERED
    assert stack.messages(stack.dlq_url) == []
    assert stack.lambdas.errors == []


def test_a_receiver_that_is_down_exhausts_the_attempts_then_the_dlq_and_a_replay_delivers(
    stack: Stack,
) -> None:
    with running(WebhookReceiver()) as gone:
        url = gone.url
    run_id = stack.submit(webhook_url=url)
    stack.finish(run_id, ev.RunFailed(reason="The page would not load"))
    stack.lambdas.drain()

    # the run shows the failure, and SQS moved the message to the dead-letter queue
    view = stack.view(run_id)
    assert view.webhook is not None and view.webhook.status is WebhookStatus.FAILED
    assert view.webhook.failure_reason is not None
    assert view.webhook.failure_reason.startswith(f"gave up after {MAX_ATTEMPTS} attempts")
    assert [a.attempt for a in stack.attempts(run_id)] == [1, 2, 3]
    (dead,) = stack.messages(stack.dlq_url)
    assert dead["detail-type"] == "RunFailed" and dead["detail"]["event"]["run_id"] == run_id

    # WHEN the receiver is back and the user asks for the webhook again through the SDK
    port = int(url.split(":")[2].split("/")[0])
    with running(WebhookReceiver(response_body=b"got it"), port=port) as back:
        client = SkyvernClient(
            base_url="https://api.example.test",
            api_key=stack.key,
            httpx_client=function_client(stack.api.handler),
        )
        report = client.retry_run_webhook(run_id)
        got = list(back.received)

    # THEN it is delivered and the report says so
    assert report.status_code == 200 and report.error is None and report.response_body == "got it"
    assert report.run_id == run_id and report.target_webhook_url == url
    assert got[0].body == report.payload.encode() and got[0].skyvern_signature_ok(stack.key)
    assert stack.view(run_id).webhook.status is WebhookStatus.DELIVERED  # type: ignore[union-attr]


def test_every_event_of_a_run_is_published_schema_checked_and_without_secrets(stack: Stack) -> None:
    run_id = stack.submit(
        extra_http_headers={"Authorization": "Bearer S3CRET-TOKEN"},
        proxy_location={"url": "http://user:PROXYPASS@proxy.example.com:3128"},
    )
    stack.finish(run_id)
    stack.lambdas.drain()

    published = [m for m in stack.messages(stack.everything_url) if m["detail"]["event"]["run_id"] == run_id]
    logged = aws_runtime.runtime().event_log.read(run_id)
    assert [m["detail-type"] for m in published] == [e.type for e in logged]
    assert all(m["source"] == "altostratus" for m in published)
    for message in published:
        schema = json.loads((ROOT / "events" / "schemas" / f"{message['detail-type']}.json").read_text())
        jsonschema.Draft202012Validator(schema).validate(message["detail"])
    text = json.dumps(published)
    assert [s for s in SECRETS if s in text] == []
    # The log holds the credentials only sealed; the executor, with the master key, gets them back.
    assert [s for s in SECRETS if s in json.dumps([e.model_dump(mode="json") for e in logged])] == []
    view = stack.view(run_id)
    request = executor_request(view, aws_runtime.runtime().services.secret_box)
    assert all(s in request.model_dump_json() for s in SECRETS)
    # no webhook_url: the rule sent nothing to the webhook queue
    assert stack.attempts(run_id) == []


def test_the_sample_events_drive_the_functions(stack: Stack) -> None:
    with running(WebhookReceiver()) as receiver:
        run_id = stack.submit(webhook_url=receiver.url)
        stack.finish(run_id)
        completed = aws_runtime.runtime().event_log.read(run_id)[-1]
        # events/publisher_stream_insert.json: the stream record of a RunCompleted insert
        record = load_event("publisher_stream_insert")
        record["Records"][0]["dynamodb"]["NewImage"]["body"]["S"] = ev.encode_event(completed)
        assert stack.publisher.handler(record, FakeLambdaContext("publisher")) == {"batchItemFailures": []}
        # events/webhook_sqs_run_completed.json: the message the rule put on the queue
        message = load_event("webhook_sqs_run_completed", tsk_v2_385015255283946657=run_id)
        assert stack.webhook.handler(message, FakeLambdaContext("webhook")) == {"batchItemFailures": []}
        assert [r.json()["run_id"] for r in receiver.received if r.status == 200][-1] == run_id
