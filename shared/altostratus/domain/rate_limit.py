"""A per-key request rate: a token bucket, kept as one number per key.

The bucket is stored as its "theoretical arrival time" (the generic cell rate algorithm):
`tat` is when the bucket would be full again. A request at `now` is admitted when
`max(tat, now)` is at most `tolerance` ahead of `now`, and then moves `tat` one interval on.
That admits `burst` requests at once and `per_second` after that, exactly as a token bucket
of `burst` tokens refilled at `per_second` does — and a single number can be updated with a
conditional write, which a shared store (DynamoDB) needs.

Times are whole microseconds since the Unix epoch: float seconds would round a little at
every interval added, and a long burst would drift off its exact size.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_MICROSECOND = timedelta(microseconds=1)


def micros(moment: datetime) -> int:
    """The moment as whole microseconds since the Unix epoch (exact)."""
    return (moment - _EPOCH) // _MICROSECOND


@dataclass(frozen=True)
class RateLimit:
    per_second: float
    burst: int

    def __post_init__(self) -> None:
        if self.per_second <= 0 or self.burst < 1:
            raise ValueError("a rate limit needs a positive rate and a burst of at least 1")

    @property
    def interval_us(self) -> int:
        """Microseconds one request's token takes to come back."""
        return max(1, round(1_000_000 / self.per_second))

    @property
    def tolerance_us(self) -> int:
        """How far ahead of now `tat` may be for a request to be admitted."""
        return (self.burst - 1) * self.interval_us

    def describe(self) -> str:
        return f"{self.per_second:g} requests per second, bursts of {self.burst}"


@dataclass(frozen=True)
class RateDecision:
    allowed: bool
    retry_after_s: float = 0.0  # when refused: seconds until the next request would be admitted


def refused_until(limit: RateLimit, tat: int, now: int) -> RateDecision | None:
    """A refusal when the bucket's `tat` leaves no token at `now`; None when one is left."""
    ahead = max(tat, now) - now - limit.tolerance_us
    return RateDecision(False, retry_after_s=ahead / 1_000_000) if ahead > 0 else None


def admit(limit: RateLimit, tat: int | None, now: int) -> tuple[RateDecision, int | None]:
    """The decision for a request at `now` and the bucket's new `tat` (None when refused: a
    refused request leaves the bucket as it was)."""
    if tat is not None and (refusal := refused_until(limit, tat, now)):
        return refusal, None
    start = now if tat is None else max(tat, now)
    return RateDecision(True), start + limit.interval_us
