"""Runs moto's Lambda invocations as in-process Python handlers: moto's own Lambda needs Docker.

moto (pinned: moto==5.2.5) runs function code in exactly two places; both are patched while an
`InProcessLambdas` is installed:

- ``moto.awslambda_simple.models.LambdaSimpleBackend.invoke`` — used, under
  ``mock_aws(config={"lambda": {"use_docker": False}})``, by boto3 ``lambda.invoke``, by Step
  Functions Task states (moto's ASL interpreter invokes through it) and by the SQS
  event-source mapping (moto invokes on ``send_message``).
- ``moto.awslambda.models.LambdaFunction._invoke_lambda`` — used by the DynamoDB-stream
  event-source mapping (and Kinesis, SNS and CloudWatch Logs subscriptions).

``tests/flow/test_moto_shim_canary.py`` fails loudly if either moves.

Handlers are registered by function name (``register``) or deployed and registered in one go
(``deploy``, which also creates the moto function and, once, the IAM role moto insists on).
A handler is ``(event: dict, context) -> JSON-able``; an exception becomes a function error
(``{"errorType", "errorMessage"}``, ``x-amz-function-error``), so Step Functions Retry/Catch
see the exception's class name, as on AWS.

Where moto is less faithful than AWS, the shim makes up the difference:

- Streams are asynchronous on AWS: a handler sees a write only after it committed. moto calls
  the stream's function synchronously *inside* the write (in the middle of a transaction), so
  by default stream invocations are deferred and run by ``run_deferred()`` / ``drain()``.
- ``ReportBatchItemFailures``: moto ignores a ``batchItemFailures`` answer (it deletes the SQS
  message). For SQS events the shim turns a non-empty one into a function error, which makes
  moto leave the message on the queue (moto invokes one message at a time, so this is exact).
- Lambda's SQS poller keeps receiving a queue; moto only invokes on ``send_message``.
  ``poll_sqs`` / ``drain`` play the poller (real receive counts, visibility and dead-letter
  redrive are moto's own), deleting the messages the handler did not report as failed.

Errors raised by handlers are also kept in ``errors`` (moto swallows stream failures).

Example::

    with mock_aws(config={"lambda": {"use_docker": False}}), InProcessLambdas() as lambdas:
        lambdas.deploy("webhook", handler)
        boto3.client("lambda").create_event_source_mapping(EventSourceArn=queue_arn, FunctionName="webhook")
        ...
        lambdas.drain()  # deferred stream batches and queue polling, until nothing is left
"""

from __future__ import annotations

import io
import json
import traceback
import zipfile
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import boto3
from moto.awslambda.models import LambdaFunction
from moto.awslambda_simple.models import LambdaSimpleBackend

from tests.support.functions import FakeLambdaContext

Handler = Callable[[dict[str, Any], Any], Any]

_ROLE_NAME = "inproc-lambda-role"
_TRUST = {
    "Version": "2012-10-17",
    "Statement": [
        {"Effect": "Allow", "Principal": {"Service": "lambda.amazonaws.com"}, "Action": "sts:AssumeRole"}
    ],
}


@dataclass
class HandlerError:
    function: str
    error_type: str
    message: str
    trace: str


@dataclass
class InProcessLambdas:
    defer_streams: bool = True
    stream_retries: int = 3
    region: str = "us-east-1"
    handlers: dict[str, Handler] = field(default_factory=dict)
    errors: list[HandlerError] = field(default_factory=list)
    _deferred: deque[tuple[str, dict[str, Any], int]] = field(default_factory=deque)
    _saved: tuple[Any, Any] | None = None
    _role_arn: str | None = None

    # -- registering --

    def register(self, name: str, handler: Handler) -> None:
        self.handlers[name] = handler

    def deploy(self, name: str, handler: Handler, **function: Any) -> str:
        """Create the function in moto and route its invocations here; its ARN.

        A zip function (python3.11) by default; pass ``PackageType="Image"`` (and optionally
        ``ImageUri``) for a container-image function such as agent_step. Other keyword
        arguments go to ``create_function`` (``Timeout``, ``MemorySize``, ...)."""
        self.register(name, handler)
        if function.get("PackageType") == "Image":
            image = function.pop(
                "ImageUri", f"123456789012.dkr.ecr.{self.region}.amazonaws.com/{name}:latest"
            )
            shape: dict[str, Any] = {"Code": {"ImageUri": image}}
        else:
            shape = {
                "Runtime": "python3.11",
                "Handler": "app.handler",
                "Code": {"ZipFile": _placeholder_zip()},
            }
        created = boto3.client("lambda", region_name=self.region).create_function(
            FunctionName=name, Role=self._role(), **shape, **function
        )
        return str(created["FunctionArn"])

    def _role(self) -> str:
        if self._role_arn is None:
            iam = boto3.client("iam", region_name=self.region)
            try:
                self._role_arn = iam.get_role(RoleName=_ROLE_NAME)["Role"]["Arn"]
            except iam.exceptions.NoSuchEntityException:
                role = iam.create_role(RoleName=_ROLE_NAME, AssumeRolePolicyDocument=json.dumps(_TRUST))
                self._role_arn = role["Role"]["Arn"]
        return self._role_arn

    # -- installing --

    def install(self) -> None:
        shim = self
        self._saved = (LambdaSimpleBackend.invoke, LambdaFunction._invoke_lambda)

        def simple_invoke(
            backend: LambdaSimpleBackend,
            function_name: str,
            qualifier: str | None,
            body: Any,
            headers: Any,
            response_headers: dict[str, Any],
        ) -> bytes:
            fn = backend.get_function(function_name, qualifier)
            event = json.loads(body) if body else {}
            out, failed = shim._call(fn.function_name, event)
            if failed:
                response_headers["x-amz-function-error"] = "Unhandled"
            return out.encode()

        def function_invoke(fn: LambdaFunction, event: Any = None) -> tuple[str, bool, str]:
            event = json.loads(event) if isinstance(event, str) else (event or {})
            if shim.defer_streams and _source(event) == "aws:dynamodb":
                shim._deferred.append((fn.function_name, event, 0))
                return "{}", False, ""
            out, failed = shim._call(fn.function_name, event)
            return out, failed, ""

        LambdaSimpleBackend.invoke = simple_invoke  # type: ignore[method-assign,assignment]
        LambdaFunction._invoke_lambda = function_invoke  # type: ignore[method-assign,assignment]

    def uninstall(self) -> None:
        if self._saved is not None:
            LambdaSimpleBackend.invoke, LambdaFunction._invoke_lambda = self._saved  # type: ignore[method-assign]
            self._saved = None

    def __enter__(self) -> InProcessLambdas:
        self.install()
        return self

    def __exit__(self, *exc: object) -> None:
        self.uninstall()

    # -- invoking --

    def _call(self, name: str, event: dict[str, Any]) -> tuple[str, bool]:
        """Run the handler: (response JSON, whether it is a function error)."""
        handler = self.handlers.get(name)
        if handler is None:
            raise LookupError(f"no in-process handler registered for Lambda function {name!r}")
        try:
            result = handler(event, FakeLambdaContext(name))
        except Exception as exc:
            self.errors.append(HandlerError(name, type(exc).__name__, str(exc), traceback.format_exc()))
            return json.dumps({"errorType": type(exc).__name__, "errorMessage": str(exc)}), True
        failed = (
            _source(event) == "aws:sqs" and isinstance(result, dict) and bool(result.get("batchItemFailures"))
        )
        return json.dumps(result), failed

    def run_deferred(self) -> int:
        """Run the queued stream batches, and those they cause, in order; how many ran."""
        ran = 0
        while self._deferred:
            name, event, tries = self._deferred.popleft()
            ran += 1
            out, failed = self._call(name, event)
            failures = [] if failed else (json.loads(out) or {}).get("batchItemFailures", [])
            if not failed and not failures:
                continue
            records = event["Records"]
            if failures:
                # Lambda retries a stream batch from the lowest failed sequence number.
                first = min(int(f["itemIdentifier"]) for f in failures)
                records = [r for r in records if int(r["dynamodb"]["SequenceNumber"]) >= first]
            if tries < self.stream_retries:
                self._deferred.appendleft((name, {**event, "Records": records}, tries + 1))
        return ran

    def poll_sqs(self, queue_url: str, function_name: str, *, batch_size: int = 10) -> int:
        """Play Lambda's SQS poller until the queue has nothing visible; how many batches ran."""
        sqs = boto3.client("sqs", region_name=self.region)
        queue_arn = sqs.get_queue_attributes(QueueUrl=queue_url, AttributeNames=["QueueArn"])["Attributes"][
            "QueueArn"
        ]
        for batches in range(1000):
            messages = sqs.receive_message(
                QueueUrl=queue_url, MaxNumberOfMessages=batch_size, AttributeNames=["All"]
            ).get("Messages", [])
            if not messages:
                return batches
            event = {"Records": [_sqs_record(m, queue_arn, self.region) for m in messages]}
            out, failed = self._call(function_name, event)
            reported = {f["itemIdentifier"] for f in (json.loads(out) or {}).get("batchItemFailures", [])}
            for message in messages:
                if not failed and message["MessageId"] not in reported:
                    sqs.delete_message(QueueUrl=queue_url, ReceiptHandle=message["ReceiptHandle"])
        raise RuntimeError(f"{queue_url} never emptied: a handler keeps failing without a dead-letter queue")

    def drain(self) -> None:
        """Deferred stream batches and every SQS event-source mapping, until all are quiet."""
        lam = boto3.client("lambda", region_name=self.region)
        sqs = boto3.client("sqs", region_name=self.region)
        sources = []
        for mapping in lam.list_event_source_mappings()["EventSourceMappings"]:
            arn = mapping["EventSourceArn"]
            if arn.startswith("arn:aws:sqs:"):
                _, _, _, _, account, name = arn.split(":")
                url = sqs.get_queue_url(QueueName=name, QueueOwnerAWSAccountId=account)["QueueUrl"]
                sources.append((url, mapping["FunctionArn"].split(":")[-1]))
        while True:
            ran = self.run_deferred()
            ran += sum(self.poll_sqs(url, function) for url, function in sources)
            if not ran:
                return


def _source(event: dict[str, Any]) -> str | None:
    records = event.get("Records") if isinstance(event, dict) else None
    if records and isinstance(records[0], dict):
        return records[0].get("eventSource") or records[0].get("EventSource")
    return None


def _sqs_record(message: dict[str, Any], queue_arn: str, region: str) -> dict[str, Any]:
    return {
        "messageId": message["MessageId"],
        "receiptHandle": message["ReceiptHandle"],
        "body": message["Body"],
        "attributes": message.get("Attributes", {}),
        "messageAttributes": {},
        "md5OfBody": message.get("MD5OfBody", ""),
        "eventSource": "aws:sqs",
        "eventSourceARN": queue_arn,
        "awsRegion": region,
    }


def _placeholder_zip() -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr(
            "app.py", "def handler(event, context):\n    raise RuntimeError('runs in process')\n"
        )
    return buffer.getvalue()
