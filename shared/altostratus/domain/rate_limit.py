"""A per-key request rate: a token bucket, kept as one number per key.

The bucket is stored as its "theoretical arrival time" (the generic cell rate algorithm):
`tat` is when the bucket would be full again. A request at `now` is admitted when
`max(tat, now)` is at most `tolerance` ahead of `now`, and then moves `tat` one interval on.
That admits `burst` requests at once and `per_second` after that, exactly as a token bucket
of `burst` tokens refilled at `per_second` does — and a single number can be updated with a
conditional write, which a shared store (DynamoDB) needs.
"""

from __future__ import annotations

from dataclasses import dataclass

# Float sums of intervals drift by a few ulps; without slack the last request of a burst
# could be refused for 1e-16 s.
_SLACK_S = 1e-6


@dataclass(frozen=True)
class RateLimit:
    per_second: float
    burst: int

    def __post_init__(self) -> None:
        if self.per_second <= 0 or self.burst < 1:
            raise ValueError("a rate limit needs a positive rate and a burst of at least 1")

    @property
    def interval(self) -> float:
        """Seconds one request's token takes to come back."""
        return 1.0 / self.per_second

    @property
    def tolerance(self) -> float:
        """How far ahead of now `tat` may be for a request to be admitted."""
        return (self.burst - 1) * self.interval + _SLACK_S

    def describe(self) -> str:
        return f"{self.per_second:g} requests per second, bursts of {self.burst}"


@dataclass(frozen=True)
class RateDecision:
    allowed: bool
    retry_after_s: float = 0.0  # when refused: seconds until the next request would be admitted


def admit(limit: RateLimit, tat: float | None, now: float) -> tuple[RateDecision, float | None]:
    """The decision for a request at `now` (epoch seconds) and the bucket's new `tat`
    (None when refused: a refused request leaves the bucket as it was)."""
    start = now if tat is None or tat < now else tat
    if start - now > limit.tolerance:
        return RateDecision(False, retry_after_s=start - now - limit.tolerance + _SLACK_S), None
    return RateDecision(True), start + limit.interval
