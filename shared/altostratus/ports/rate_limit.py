"""The rate-limiter port: admits or refuses one request of a subject (an API key's id).

Contract (tests/contract/test_rate_limiter.py, every adapter):
- a subject's first `burst` requests at one instant are admitted, the next is refused with
  `retry_after_s` the wait until one more would be (one interval, 1/per_second);
- as time passes the bucket refills at `per_second`, never beyond `burst`;
- subjects do not share a bucket;
- limiters over the same store share the bucket (the DynamoDB one holds across Lambdas).
"""

from __future__ import annotations

from typing import Protocol

from altostratus.domain.rate_limit import RateDecision, RateLimit


class RateLimiter(Protocol):
    @property
    def limit(self) -> RateLimit: ...

    def acquire(self, subject: str) -> RateDecision:
        """Take one request's token from the subject's bucket, if there is one."""
        ...
