"""Canary for tests/support/inproc_lambda.py: it patches moto internals (moto==5.2.5), so this
fails loudly, naming what moved, when an upgrade changes them."""

from __future__ import annotations

import inspect
import json
import time
from collections.abc import Iterator
from typing import Any

import boto3
import moto
import pytest
from moto import mock_aws
from moto.awslambda.models import LambdaFunction
from moto.awslambda_simple.models import LambdaSimpleBackend

from tests.support.inproc_lambda import InProcessLambdas

CONFIG = {"lambda": {"use_docker": False}, "stepfunctions": {"execute_state_machine": True}}


def test_the_patched_moto_internals_are_where_the_shim_expects_them() -> None:
    assert moto.__version__ == "5.2.5", "the shim was written against moto 5.2.5: re-check it, then this pin"
    assert list(inspect.signature(LambdaSimpleBackend.invoke).parameters) == [
        "self",
        "function_name",
        "qualifier",
        "body",
        "headers",
        "response_headers",
    ], "LambdaSimpleBackend.invoke changed its signature"
    assert list(inspect.signature(LambdaFunction._invoke_lambda).parameters) == ["self", "event"], (
        "LambdaFunction._invoke_lambda changed its signature"
    )


@pytest.fixture
def lambdas() -> Iterator[InProcessLambdas]:
    with mock_aws(config=CONFIG), InProcessLambdas() as shim:
        yield shim


def test_a_direct_invoke_runs_the_handler_and_reports_its_exception(lambdas: InProcessLambdas) -> None:
    def handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
        if event.get("boom"):
            raise ValueError("bad input")
        return {"echo": event["n"] + 1, "name": context.function_name}

    lambdas.deploy("canary", handler)
    client = boto3.client("lambda", region_name="us-east-1")
    ok = client.invoke(FunctionName="canary", Payload=json.dumps({"n": 1}))
    assert json.loads(ok["Payload"].read()) == {"echo": 2, "name": "canary"}
    bad = client.invoke(FunctionName="canary", Payload=json.dumps({"boom": True}))
    assert bad["FunctionError"] == "Unhandled"
    assert json.loads(bad["Payload"].read()) == {"errorType": "ValueError", "errorMessage": "bad input"}


def test_an_sqs_mapping_invokes_on_send_and_the_poller_redelivers_reported_failures(
    lambdas: InProcessLambdas,
) -> None:
    seen: list[tuple[str, str]] = []

    def handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
        record = event["Records"][0]
        seen.append((record["body"], record["attributes"].get("ApproximateReceiveCount", "")))
        failed = len(seen) == 1
        return {"batchItemFailures": [{"itemIdentifier": record["messageId"]}] if failed else []}

    sqs = boto3.client("sqs", region_name="us-east-1")
    url = sqs.create_queue(QueueName="canary", Attributes={"VisibilityTimeout": "0"})["QueueUrl"]
    arn = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
    lambdas.deploy("consumer", handler)
    boto3.client("lambda", region_name="us-east-1").create_event_source_mapping(
        EventSourceArn=arn, FunctionName="consumer", FunctionResponseTypes=["ReportBatchItemFailures"]
    )
    sqs.send_message(QueueUrl=url, MessageBody="hello")
    assert seen == [("hello", "1")]  # moto invoked synchronously on send; the failure kept it
    lambdas.drain()
    assert seen == [("hello", "1"), ("hello", "2")]
    assert sqs.receive_message(QueueUrl=url).get("Messages") is None


def test_a_dynamodb_stream_mapping_runs_after_the_write(lambdas: InProcessLambdas) -> None:
    images: list[dict[str, Any]] = []
    ddb = boto3.client("dynamodb", region_name="us-east-1")
    table = ddb.create_table(
        TableName="canary",
        KeySchema=[{"AttributeName": "k", "KeyType": "HASH"}],
        AttributeDefinitions=[{"AttributeName": "k", "AttributeType": "S"}],
        BillingMode="PAY_PER_REQUEST",
        StreamSpecification={"StreamEnabled": True, "StreamViewType": "NEW_IMAGE"},
    )["TableDescription"]

    def handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
        for record in event["Records"]:
            images.append({"name": record["eventName"], **record["dynamodb"]["NewImage"]})
        return {"batchItemFailures": []}

    lambdas.deploy("projector", handler)
    boto3.client("lambda", region_name="us-east-1").create_event_source_mapping(
        EventSourceArn=table["LatestStreamArn"], FunctionName="projector", StartingPosition="TRIM_HORIZON"
    )
    ddb.put_item(TableName="canary", Item={"k": {"S": "a"}, "v": {"N": "1"}})
    assert images == []  # deferred: the handler runs after the write returned, as on AWS
    assert lambdas.run_deferred() == 1
    assert images == [{"name": "INSERT", "k": {"S": "a"}, "v": {"N": "1"}}]


def test_a_step_functions_task_runs_the_handler_and_catches_its_exception(lambdas: InProcessLambdas) -> None:
    calls: list[dict[str, Any]] = []

    class FlakyError(Exception):
        pass

    def handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
        calls.append(event)
        if len(calls) == 1:
            raise FlakyError("first call fails")
        return {"n": event["n"] * 2}

    arn = lambdas.deploy("doubler", handler)
    # The error name Step Functions matches is the handler's exception class (Retry waits at
    # least a second in moto, so Catch shows the same thing faster).
    definition = {
        "StartAt": "Double",
        "States": {
            "Double": {
                "Type": "Task",
                "Resource": arn,
                "Catch": [{"ErrorEquals": ["FlakyError"], "ResultPath": "$.error", "Next": "Again"}],
                "End": True,
            },
            "Again": {"Type": "Task", "Resource": arn, "InputPath": "$", "End": True},
        },
    }
    sfn = boto3.client("stepfunctions", region_name="us-east-1")
    machine = sfn.create_state_machine(
        name="canary", definition=json.dumps(definition), roleArn="arn:aws:iam::123456789012:role/sfn"
    )["stateMachineArn"]
    execution = sfn.start_execution(stateMachineArn=machine, name="canary-1", input=json.dumps({"n": 21}))
    deadline = time.monotonic() + 30
    while (described := sfn.describe_execution(executionArn=execution["executionArn"]))[
        "status"
    ] == "RUNNING":
        assert time.monotonic() < deadline, "the execution never finished"
        time.sleep(0.02)
    assert described["status"] == "SUCCEEDED", described
    assert json.loads(described["output"]) == {"n": 42}
    assert len(calls) == 2


def test_an_image_function_is_invoked_in_process_too(lambdas: InProcessLambdas) -> None:
    lambdas.deploy("agent", lambda event, context: {"slice": "done"}, PackageType="Image", MemorySize=3008)
    reply = boto3.client("lambda", region_name="us-east-1").invoke(FunctionName="agent", Payload=b"{}")
    assert json.loads(reply["Payload"].read()) == {"slice": "done"}
