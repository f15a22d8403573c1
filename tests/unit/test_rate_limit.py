"""The token bucket's arithmetic: exact bursts and waits at any rate and any moment."""

from __future__ import annotations

from datetime import UTC, datetime

from hypothesis import given
from hypothesis import strategies as st

from altostratus.domain.rate_limit import RateLimit, admit, micros

moments = st.datetimes(min_value=datetime(2020, 1, 1), max_value=datetime(2100, 1, 1), timezones=st.just(UTC))


@given(
    per_second=st.floats(min_value=0.001, max_value=100_000),
    burst=st.integers(min_value=1, max_value=2_000),
    at=moments,
)
def test_exactly_the_burst_is_admitted_at_one_instant_then_one_interval_later_one_more(
    per_second: float, burst: int, at: datetime
) -> None:
    limit = RateLimit(per_second=per_second, burst=burst)
    now = micros(at)
    tat: int | None = None
    admitted = 0
    while True:
        decision, new_tat = admit(limit, tat, now)
        if not decision.allowed:
            break
        tat, admitted = new_tat, admitted + 1
    assert admitted == burst
    assert round(decision.retry_after_s * 1_000_000) == limit.interval_us
    assert admit(limit, tat, now + limit.interval_us)[0].allowed
    assert not admit(limit, tat, now + limit.interval_us - 1)[0].allowed
