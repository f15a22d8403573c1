"""The per-key request rate on the AWS runtime: the `api` Lambda handler in-process (moto),
its buckets in the state table, shared by every instance of the function."""

from __future__ import annotations

import json
import logging
from collections.abc import Iterator
from datetime import timedelta
from types import ModuleType
from typing import Any

import pytest

from altostratus.adapters.dynamodb_rate_limiter import EXPIRY_ATTRIBUTE, DynamoDBRateLimiter
from altostratus.domain.rate_limit import RateLimit
from altostratus.runtimes import aws as aws_runtime
from altostratus.runtimes.settings import Settings
from tests.support.aws import MotoAws, moto_aws
from tests.support.clock import FakeClock
from tests.support.functions import FakeLambdaContext, load_event, load_function
from tests.support.template import load_template, resource

BURST = 4


@pytest.fixture
def deployed(monkeypatch: pytest.MonkeyPatch) -> Iterator[tuple[MotoAws, ModuleType, FakeClock, list[str]]]:
    with moto_aws() as aws:
        for name, value in aws.environment().items():
            monkeypatch.setenv(name, value)
        monkeypatch.setenv("ALTO_RATE_LIMIT_PER_SECOND", "1")
        monkeypatch.setenv("ALTO_RATE_LIMIT_BURST", str(BURST))
        clock = FakeClock()
        built = aws_runtime.build_aws(Settings(runtime="aws"), clock=clock)
        monkeypatch.setattr(aws_runtime, "runtime", lambda: built)
        org = built.keys.create_org("acme")
        keys = [built.keys.create_key(org.org_id)[1] for _ in range(2)]
        yield aws, load_function("api"), clock, keys


def _get(function: ModuleType, key: str) -> dict[str, Any]:
    reply: dict[str, Any] = function.handler(
        load_event("api_get_run", REPLACE_WITH_API_KEY=key), FakeLambdaContext()
    )
    return reply


def test_a_burst_then_429_with_retry_after_and_other_keys_unaffected(
    deployed: tuple[MotoAws, ModuleType, FakeClock, list[str]],
) -> None:
    aws, function, clock, (key, other) = deployed
    assert [_get(function, key)["statusCode"] for _ in range(BURST)] == [404] * BURST
    refused = _get(function, key)
    assert refused["statusCode"] == 429
    assert refused["headers"]["Retry-After"] == "1"
    assert "Too many requests" in json.loads(refused["body"])["detail"]
    assert [_get(function, other)["statusCode"] for _ in range(BURST)] == [404] * BURST
    bad = _get(function, "alto_not-a-key")
    assert bad["statusCode"] == 403

    clock.advance(timedelta(seconds=1))
    assert _get(function, key)["statusCode"] == 404
    assert _get(function, key)["statusCode"] == 429
    buckets = aws.dynamodb.scan(
        TableName=aws.state_table,
        FilterExpression="begins_with(pk, :p)",
        ExpressionAttributeValues={":p": {"S": "ratelimit#"}},
    )["Items"]
    assert len(buckets) == 2 and all(EXPIRY_ATTRIBUTE in b for b in buckets)  # the table's TTL removes them


def test_the_bucket_holds_across_function_instances(
    deployed: tuple[MotoAws, ModuleType, FakeClock, list[str]], monkeypatch: pytest.MonkeyPatch
) -> None:
    _, first, _, (key, _) = deployed
    # Another execution environment: its own runtime, limiter memory and key cache.
    elsewhere = aws_runtime.build_aws(Settings(runtime="aws"), clock=FakeClock())
    monkeypatch.setattr(aws_runtime, "runtime", lambda: elsewhere)
    second = load_function("api")
    statuses = [_get(first if i % 2 else second, key)["statusCode"] for i in range(2 * BURST)]
    assert statuses.count(404) == BURST and statuses[-2:] == [429, 429]


class _Counting:
    def __init__(self, client: Any) -> None:
        self.client = client
        self.calls = 0

    def __getattr__(self, name: str) -> Any:
        self.calls += 1
        return getattr(self.client, name)


def test_a_flood_from_one_key_is_refused_mostly_without_dynamodb() -> None:
    with moto_aws() as aws:
        counting = _Counting(aws.dynamodb)
        limiter = DynamoDBRateLimiter(
            counting, state_table=aws.state_table, limit=RateLimit(per_second=1, burst=3), clock=FakeClock()
        )
        decisions = [limiter.acquire("key_a").allowed for _ in range(100)]
    assert decisions == [True] * 3 + [False] * 97
    assert counting.calls <= 4  # the admissions; refusals are decided from what the last one saw


def test_the_limiter_fails_open_when_dynamodb_is_unavailable(caplog: pytest.LogCaptureFixture) -> None:
    with moto_aws() as aws:
        limit = RateLimit(per_second=1, burst=1)
        limiter = DynamoDBRateLimiter(aws.dynamodb, state_table="missing", limit=limit, clock=FakeClock())
        with caplog.at_level(logging.WARNING, logger="altostratus.api"):
            assert all(limiter.acquire("key_a").allowed for _ in range(3))
    assert "rate limiter unavailable" in caplog.text


def test_the_template_expires_buckets_and_lets_the_api_update_them() -> None:
    template = load_template()
    ttl = resource(template, "StateTable")["TimeToLiveSpecification"]
    assert ttl == {"AttributeName": EXPIRY_ATTRIBUTE, "Enabled": True}
    policies = resource(template, "ApiFunction")["Policies"]
    # DynamoDBCrudPolicy grants UpdateItem (and the reads) on the state table.
    assert {"DynamoDBCrudPolicy": {"TableName": {"Ref": "StateTable"}}} in policies
