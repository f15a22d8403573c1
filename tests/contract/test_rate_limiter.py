"""The rate-limiter contract, run against the in-process buckets and DynamoDB (moto)."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from datetime import timedelta

import pytest

from altostratus.adapters.dynamodb_rate_limiter import DynamoDBRateLimiter
from altostratus.adapters.inprocess_rate_limiter import InProcessRateLimiter
from altostratus.domain.rate_limit import RateLimit
from altostratus.ports.rate_limit import RateLimiter
from tests.support.aws import moto_aws
from tests.support.clock import FakeClock

LIMIT = RateLimit(per_second=2, burst=5)  # a token every 0.5 s


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture(params=["inprocess", "dynamodb"])
def limiters(request: pytest.FixtureRequest, clock: FakeClock) -> Iterator[Callable[[], RateLimiter]]:
    """Makes limiters over one store: the in-process one is the process's single limiter, the
    DynamoDB ones are what separate Lambda instances hold (each its own memory)."""
    if request.param == "inprocess":
        shared = InProcessRateLimiter(LIMIT, clock)
        yield lambda: shared
    else:
        with moto_aws() as aws:
            yield lambda: DynamoDBRateLimiter(
                aws.dynamodb, state_table=aws.state_table, limit=LIMIT, clock=clock
            )


@pytest.fixture
def limiter(limiters: Callable[[], RateLimiter]) -> RateLimiter:
    return limiters()


def _admitted(limiter: RateLimiter, subject: str, n: int) -> int:
    return sum(limiter.acquire(subject).allowed for _ in range(n))


def test_a_burst_is_admitted_then_the_next_request_waits_one_interval(limiter: RateLimiter) -> None:
    assert _admitted(limiter, "key_a", LIMIT.burst) == LIMIT.burst
    refused = limiter.acquire("key_a")
    assert not refused.allowed
    assert refused.retry_after_s == pytest.approx(0.5, abs=0.01)
    assert limiter.limit == LIMIT


def test_the_bucket_refills_at_the_rate(limiter: RateLimiter, clock: FakeClock) -> None:
    assert _admitted(limiter, "key_a", LIMIT.burst + 1) == LIMIT.burst
    clock.advance(timedelta(seconds=0.5))
    assert limiter.acquire("key_a").allowed
    assert not limiter.acquire("key_a").allowed
    clock.advance(timedelta(seconds=1.5))
    assert _admitted(limiter, "key_a", 5) == 3


def test_an_idle_bucket_refills_only_to_the_burst(limiter: RateLimiter, clock: FakeClock) -> None:
    assert _admitted(limiter, "key_a", 2) == 2
    clock.advance(timedelta(hours=1))
    assert _admitted(limiter, "key_a", LIMIT.burst + 3) == LIMIT.burst


def test_refused_requests_take_nothing_from_the_bucket(limiter: RateLimiter, clock: FakeClock) -> None:
    assert _admitted(limiter, "key_a", LIMIT.burst) == LIMIT.burst
    # Refused requests take nothing: the wait is the same however often the caller asks.
    waits = [limiter.acquire("key_a").retry_after_s for _ in range(3)]
    assert waits == pytest.approx([0.5, 0.5, 0.5], abs=0.01)
    clock.advance(timedelta(seconds=0.25))
    assert limiter.acquire("key_a").retry_after_s == pytest.approx(0.25, abs=0.01)


def test_keys_do_not_share_a_bucket(limiter: RateLimiter) -> None:
    assert _admitted(limiter, "key_a", LIMIT.burst + 2) == LIMIT.burst
    assert _admitted(limiter, "key_b", LIMIT.burst) == LIMIT.burst
    assert not limiter.acquire("key_a").allowed


def test_limiters_over_one_store_share_the_bucket(limiters: Callable[[], RateLimiter]) -> None:
    first, second = limiters(), limiters()
    admitted = sum((first if i % 2 else second).acquire("key_a").allowed for i in range(2 * LIMIT.burst))
    assert admitted == LIMIT.burst
    assert not first.acquire("key_a").allowed and not second.acquire("key_a").allowed
