"""The `api` Lambda: an API Gateway HTTP API event in, DynamoDB and the response out (moto)."""

from __future__ import annotations

import contextlib
import hashlib
import io
import json
import logging
from collections.abc import Iterator
from types import ModuleType
from typing import Any

import boto3
import pytest

from altostratus.adapters.dynamodb_event_log import MAX_ITEM_BYTES, item_size
from altostratus.cli.main import main
from altostratus.domain.view import fold
from altostratus.ports.secret_box import executor_request
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


def _submit(function: ModuleType, key: str, **fields: Any) -> dict[str, Any]:
    event = load_event("api_run_task", REPLACE_WITH_API_KEY=key)
    body = json.loads(event["body"])
    event["body"] = json.dumps({**body, **fields})
    # Each submission is a new one (the sample event carries an idempotency key).
    event["headers"] = {k: v for k, v in event["headers"].items() if k.lower() != "x-idempotency-key"}
    out: dict[str, Any] = function.handler(event, FakeLambdaContext())
    return out


def _submit_prompt(function: ModuleType, key: str, prompt: str) -> dict[str, Any]:
    return _submit(function, key, prompt=prompt)


def _get_run(function: ModuleType, key: str, run_id: str) -> dict[str, Any]:
    got = function.handler(
        load_event("api_get_run", REPLACE_WITH_API_KEY=key, tsk_v2_1=run_id), FakeLambdaContext()
    )
    assert got["statusCode"] == 200, got["body"]
    body: dict[str, Any] = json.loads(got["body"])
    return body


def _raw_items(aws: MotoAws, run_id: str) -> list[dict[str, Any]]:
    """Every DynamoDB item the run wrote, as stored (both tables)."""
    items: list[dict[str, Any]] = []
    for table in (aws.events_table, aws.state_table):
        items += [i for i in aws.dynamodb.scan(TableName=table)["Items"] if run_id in json.dumps(i)]
    return items


def test_a_150_kb_prompt_is_stored_apart_and_get_run_returns_it_whole(
    deployed: tuple[MotoAws, ModuleType, str],
) -> None:
    aws, function, key = deployed
    prompt = "Find the blue mug. " + "".join(f"step {i}: look again. " for i in range(8_000))
    assert len(prompt) > 150_000
    schema = {"type": "object", "properties": {f"field_{i}": {"type": "string"} for i in range(2_000)}}
    reply = _submit(
        function,
        key,
        prompt=prompt,
        data_extraction_schema=schema,
        webhook_url="https://hooks:hunter2@example.com/done",
    )
    assert reply["statusCode"] == 200, reply["body"]
    run = json.loads(reply["body"])
    assert run["run_request"]["prompt"] == prompt
    assert run["run_request"]["data_extraction_schema"] == schema
    got = _get_run(function, key, run["run_id"])
    assert got["run_request"]["prompt"] == prompt and got["run_request"]["data_extraction_schema"] == schema
    assert "hunter2" not in json.dumps(got)
    # The run's records stay small: the prompt is in S3, the items hold its reference.
    items = _raw_items(aws, run["run_id"])
    assert items and all(item_size(i) < 64 * 1024 for i in items)
    assert all(prompt not in json.dumps(i) for i in items)
    created = next(json.loads(i["body"]["S"]) for i in items if i.get("type", {}).get("S") == "RunCreated")
    parts = created["data"]["stored_parts"]
    bucket, _, object_key = parts["uri"].removeprefix("s3://").partition("/")
    s3 = boto3.client("s3", region_name="us-east-1")
    stored = s3.get_object(Bucket=bucket, Key=object_key)["Body"].read()
    assert hashlib.sha256(stored).hexdigest() == parts["sha256"] and len(stored) == parts["size"]
    assert set(parts["fields"]) == {"prompt", "data_extraction_schema"}
    assert "hunter2" not in stored.decode()  # the credentials stay sealed, in the log
    # The executor (the engine, the webhook sender) reads the whole request, credentials included.
    services = aws_runtime.runtime().services
    view = aws_runtime.runtime().event_log.get_view(run["run_id"])
    assert view is not None
    opened = executor_request(view, services.secret_box, services.artifacts)
    assert opened.prompt == prompt and opened.data_extraction_schema == schema
    assert opened.webhook_url == "https://hooks:hunter2@example.com/done"
    # Listing and search still see the prompt's beginning.
    search = load_event("api_get_run", REPLACE_WITH_API_KEY=key)
    search["requestContext"]["http"]["path"] = search["rawPath"] = "/v1/runs"
    search["rawQueryString"] = "search_key=find%20the%20blue%20mug"
    search["queryStringParameters"] = {"search_key": "find the blue mug"}
    listed = function.handler(search, FakeLambdaContext())
    assert listed["statusCode"] == 200, listed["body"]
    assert [r["run_id"] for r in json.loads(listed["body"])] == [run["run_id"]]


def test_a_request_just_under_the_body_limit_is_stored_and_one_above_is_a_413(
    deployed: tuple[MotoAws, ModuleType, str],
) -> None:
    aws, function, key = deployed
    limit = 1024 * 1024
    event = load_event("api_run_task", REPLACE_WITH_API_KEY=key)
    others = len(json.dumps({**json.loads(event["body"]), "prompt": ""}).encode())
    largest = "p" * (limit - others)
    reply = _submit_prompt(function, key, largest)
    assert reply["statusCode"] == 200, reply["body"]
    run_id = json.loads(reply["body"])["run_id"]
    assert _get_run(function, key, run_id)["run_request"]["prompt"] == largest
    assert all(item_size(i) < 64 * 1024 for i in _raw_items(aws, run_id))
    refused = _submit_prompt(function, key, largest + "p")
    assert refused["statusCode"] == 413
    assert json.loads(refused["body"])["detail"] == f"The request body is larger than the {limit}-byte limit."


def test_a_run_still_too_large_for_dynamodb_is_a_clear_413_at_the_edge(
    deployed: tuple[MotoAws, ModuleType, str],
) -> None:
    aws, function, key = deployed
    # The title is not moved apart (it is stored three times): the largest one stored, and one
    # byte more, found by bisection over real submissions.
    low, high = 1_000, 400_000
    assert _submit(function, key, title="t" * low)["statusCode"] == 200
    while high - low > 1:
        middle = (low + high) // 2
        reply = _submit(function, key, title="t" * middle)
        assert reply["statusCode"] in (200, 413), reply  # never a 503 "try again"
        low, high = (middle, high) if reply["statusCode"] == 200 else (low, middle)
    refused = _submit(function, key, title="t" * high)
    assert refused["statusCode"] == 413
    detail = json.loads(refused["body"])["detail"]
    assert "too large to store" in detail and "400 KB" in detail
    # The largest accepted run's records really fit in DynamoDB (moto enforces 400 KB too).
    assert _submit(function, key, title="t" * low)["statusCode"] == 200
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
