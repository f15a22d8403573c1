"""The `api` Lambda: an API Gateway HTTP API event in, DynamoDB and the response out (moto)."""

from __future__ import annotations

import contextlib
import io
import json
import logging
from collections.abc import Iterator
from types import ModuleType
from typing import Any

import pytest

from altostratus.adapters.dynamodb_event_log import MAX_ITEM_BYTES, item_size
from altostratus.cli.main import main
from altostratus.domain.view import fold
from altostratus.runtimes import aws as aws_runtime
from tests.support.aws import MotoAws, moto_aws
from tests.support.functions import FakeLambdaContext, load_event, load_function


@pytest.fixture
def deployed(monkeypatch: pytest.MonkeyPatch) -> Iterator[tuple[MotoAws, ModuleType, str]]:
    with moto_aws() as aws:
        for name, value in aws.environment().items():
            monkeypatch.setenv(name, value)
        aws_runtime.forget_environment()
        function = load_function("api")
        org = aws_runtime.runtime().keys.create_org("acme")
        _, key = aws_runtime.runtime().keys.create_key(org.org_id)
        yield aws, function, key
        aws_runtime.forget_environment()


def test_run_task_event_appends_the_run_to_dynamodb(deployed: tuple[MotoAws, ModuleType, str]) -> None:
    _, function, key = deployed
    reply = function.handler(load_event("api_run_task", REPLACE_WITH_API_KEY=key), FakeLambdaContext())
    assert reply["statusCode"] == 200, reply["body"]
    run = json.loads(reply["body"])
    assert run["status"] == "queued" and run["run_type"] == "task_v2"
    log = aws_runtime.runtime().event_log
    events = log.read(run["run_id"])
    assert [e.type for e in events] == ["RunCreated", "RunQueued"]
    assert log.get_view(run["run_id"]) == fold(events)

    got = function.handler(
        load_event("api_get_run", REPLACE_WITH_API_KEY=key, tsk_v2_1=run["run_id"]), FakeLambdaContext()
    )
    assert got["statusCode"] == 200
    assert json.loads(got["body"])["run_id"] == run["run_id"]


def test_a_retried_submission_with_the_same_idempotency_key_is_one_run(
    deployed: tuple[MotoAws, ModuleType, str],
) -> None:
    aws, function, key = deployed
    event = load_event("api_run_task", REPLACE_WITH_API_KEY=key)
    first = json.loads(function.handler(event, FakeLambdaContext())["body"])
    second = json.loads(function.handler(event, FakeLambdaContext())["body"])
    assert first["run_id"] == second["run_id"]
    views = aws.dynamodb.scan(
        TableName=aws.state_table, FilterExpression="sk = :v", ExpressionAttributeValues={":v": {"S": "view"}}
    )["Items"]
    assert len(views) == 1


def test_a_bad_key_is_403_on_lambda_too(deployed: tuple[MotoAws, ModuleType, str]) -> None:
    _, function, _ = deployed
    reply = function.handler(
        load_event("api_run_task", REPLACE_WITH_API_KEY="alto_nope"), FakeLambdaContext()
    )
    assert reply["statusCode"] == 403
    assert json.loads(reply["body"]) == {"detail": "Invalid credentials"}


def test_alto_keys_create_writes_to_the_deployments_tables(deployed: tuple[MotoAws, ModuleType, str]) -> None:
    # GIVEN the CLI pointed at the deployment (ALTO_RUNTIME=aws and the template's table names)
    _, function, _ = deployed
    stdout = io.StringIO()
    with contextlib.redirect_stdout(stdout), contextlib.redirect_stderr(io.StringIO()):
        assert main(["keys", "create", "--org", "ops"]) == 0
    key = stdout.getvalue().strip()
    # THEN the new key works against the api function
    reply = function.handler(load_event("api_get_run", REPLACE_WITH_API_KEY=key), FakeLambdaContext())
    assert reply["statusCode"] == 404  # authenticated; the sample's run is simply not there


def _submit_prompt(function: ModuleType, key: str, prompt: str) -> dict[str, Any]:
    event = load_event("api_run_task", REPLACE_WITH_API_KEY=key)
    body = json.loads(event["body"])
    event["body"] = json.dumps({**body, "prompt": prompt})
    # Each submission is a new one (the sample event carries an idempotency key).
    event["headers"] = {k: v for k, v in event["headers"].items() if k.lower() != "x-idempotency-key"}
    out: dict[str, Any] = function.handler(event, FakeLambdaContext())
    return out


def test_a_run_too_large_for_dynamodb_is_a_clear_413_at_the_edge(
    deployed: tuple[MotoAws, ModuleType, str],
) -> None:
    aws, function, key = deployed
    # The largest prompt stored, and one byte more: found by bisection over real submissions.
    low, high = 1_000, 400_000
    assert _submit_prompt(function, key, "p" * low)["statusCode"] == 200
    while high - low > 1:
        middle = (low + high) // 2
        reply = _submit_prompt(function, key, "p" * middle)
        assert reply["statusCode"] in (200, 413), reply  # never a 503 "try again"
        low, high = (middle, high) if reply["statusCode"] == 200 else (low, middle)
    refused = _submit_prompt(function, key, "p" * high)
    assert refused["statusCode"] == 413
    detail = json.loads(refused["body"])["detail"]
    assert "too large to store" in detail and "400 KB" in detail
    # A 150 KB prompt (the size that used to come close to the limit) is stored.
    assert low > 150_000
    # The largest accepted run's records really fit in DynamoDB (moto enforces 400 KB too).
    assert _submit_prompt(function, key, "p" * low)["statusCode"] == 200
    views = aws.dynamodb.scan(
        TableName=aws.state_table, FilterExpression="sk = :v", ExpressionAttributeValues={":v": {"S": "view"}}
    )["Items"]
    assert all(item_size(v) <= MAX_ITEM_BYTES for v in views)


def test_the_function_logs_each_request_and_run_event_as_its_powertools_json(
    deployed: tuple[MotoAws, ModuleType, str],
) -> None:
    _, function, key = deployed
    written = io.StringIO()
    # The package's loggers share the function's handler: one stream holds every line.
    assert function.logger.registered_handler in logging.getLogger("altostratus").handlers
    function.logger.registered_handler.setStream(written)
    reply = function.handler(load_event("api_run_task", REPLACE_WITH_API_KEY=key), FakeLambdaContext())
    assert reply["statusCode"] == 200
    run_id = json.loads(reply["body"])["run_id"]
    records = [json.loads(line) for line in written.getvalue().splitlines()]
    request = next(r for r in records if r.get("name") == "altostratus.requests")
    assert (request["method"], request["path"], request["status"]) == ("POST", "/v1/run/tasks", 200)
    assert request["org"].startswith("o_") and request["request_id"] == "Zx1abcDEFghIJkl="
    assert request["ms"] >= 0
    # The function's own keys (Lambda context, service, the correlation id) are on every line.
    assert request["service"] == "altostratus-api" and request["function_name"] == "altostratus-test"
    assert request["correlation_id"] == "Zx1abcDEFghIJkl="
    lifecycle = [(r["event"], r["status"]) for r in records if r.get("name") == "altostratus.runs"]
    assert lifecycle == [("RunCreated", "created"), ("RunQueued", "queued")]
    assert all(r["run_id"] == run_id for r in records if r.get("name") == "altostratus.runs")
    assert key not in written.getvalue()


@pytest.mark.parametrize(
    "name", ["agent_step", "run_start", "run_finish", "run_failed", "publisher", "webhook"]
)
def test_every_function_routes_the_packages_logs_through_its_logger(
    name: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    with moto_aws() as aws:
        for variable, value in aws.environment().items():
            monkeypatch.setenv(variable, value)
        aws_runtime.runtime.cache_clear()
        function = load_function(name)
        package = logging.getLogger("altostratus")
        assert package.handlers == function.logger.handlers and not package.propagate
        aws_runtime.runtime.cache_clear()
