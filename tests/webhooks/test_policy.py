"""The retry policy: what is retried, how long to wait, Retry-After."""

from __future__ import annotations

import random
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime

import pytest
from hypothesis import given
from hypothesis import strategies as st

from altostratus.webhooks.policy import WebhookRetryPolicy, is_delivered, is_retryable, parse_retry_after


@pytest.mark.parametrize("status", [500, 502, 503, 504, 599, 408, 425, 429, 403])
def test_server_errors_timeouts_throttling_and_403_are_retried(status: int) -> None:
    assert is_retryable(status) and not is_delivered(status)


@pytest.mark.parametrize("status", [400, 401, 404, 410, 422, 301, 302, 307])
def test_other_answers_are_final(status: int) -> None:
    assert not is_retryable(status) and not is_delivered(status)


@given(attempt=st.integers(1, 30), seed=st.integers(0, 2**32))
def test_the_backoff_grows_exponentially_with_jitter_and_a_cap(attempt: int, seed: int) -> None:
    policy = WebhookRetryPolicy(base_delay_s=2.0, max_delay_s=900.0)
    ceiling = min(900.0, 2.0 * 2 ** (attempt - 1))
    delay = policy.backoff(attempt, random.Random(seed))
    assert ceiling / 2 <= delay <= ceiling


def test_jitter_spreads_deliveries_that_failed_together() -> None:
    policy = WebhookRetryPolicy(base_delay_s=2.0)
    rng = random.Random(7)
    assert len({round(policy.backoff(4, rng), 6) for _ in range(20)}) == 20


def test_retry_after_is_a_lower_bound_up_to_a_cap() -> None:
    policy = WebhookRetryPolicy(base_delay_s=0.01, max_retry_after_s=3600)
    assert policy.delay(1, retry_after_s=30) == 30
    assert policy.delay(1, retry_after_s=86_400) == 3600
    assert policy.delay(1, retry_after_s=None) <= 0.01


def test_retry_after_reads_seconds_and_http_dates() -> None:
    now = datetime(2026, 1, 31, 15, 0, tzinfo=UTC)
    assert parse_retry_after("120", now=now) == 120
    assert parse_retry_after(format_datetime(now + timedelta(minutes=2), usegmt=True), now=now) == 120
    assert parse_retry_after(format_datetime(now - timedelta(minutes=2), usegmt=True), now=now) == 0
    assert parse_retry_after("soon", now=now) is None
    assert parse_retry_after(None, now=now) is None


def test_a_policy_needs_at_least_one_attempt() -> None:
    with pytest.raises(ValueError, match="max_attempts"):
        WebhookRetryPolicy(max_attempts=0)
