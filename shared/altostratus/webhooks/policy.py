"""The delivery policy: which answers count, which are retried, and when.

- Any 2xx is delivered. Redirects are not followed (a 3xx is a failure: the receiver's address
  is the one the user gave, and following a Location could lead anywhere).
- Retried: network errors and timeouts, 5xx, 408, 425, 429 and 403 (some gateways answer 403
  while a receiver is being deployed). Every other answer fails at once.
- Waits grow exponentially with "equal jitter" (half fixed, half random), so a crowd of
  deliveries failing together spreads out but never retries sooner than half the backoff; a
  `Retry-After` (seconds or an HTTP date) is honoured as the minimum wait, up to a cap.
"""

from __future__ import annotations

import random
from dataclasses import dataclass
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime

RETRYABLE_STATUSES = frozenset({403, 408, 425, 429})


@dataclass(frozen=True)
class WebhookRetryPolicy:
    max_attempts: int = 10
    base_delay_s: float = 2.0
    max_delay_s: float = 900.0
    # The longest Retry-After honoured (SQS cannot hide a message for longer than 12 hours).
    max_retry_after_s: float = 3600.0
    timeout_s: float = 10.0
    # How much of a receiver's answer is kept (in events and the replay report).
    response_body_limit: int = 2048

    def __post_init__(self) -> None:
        if self.max_attempts < 1:
            raise ValueError("max_attempts must be at least 1")
        if self.base_delay_s < 0 or self.max_delay_s < 0 or self.timeout_s <= 0:
            raise ValueError("delays must not be negative and the timeout must be positive")

    def backoff(self, attempt: int, rng: random.Random | None = None) -> float:
        """The wait after failed attempt number `attempt` (1-based)."""
        ceiling = min(self.max_delay_s, self.base_delay_s * 2.0 ** max(0, attempt - 1))
        return ceiling / 2 + (rng or random).uniform(0, ceiling / 2)

    def delay(self, attempt: int, *, retry_after_s: float | None, rng: random.Random | None = None) -> float:
        wait = self.backoff(attempt, rng)
        if retry_after_s is not None:
            wait = max(wait, min(retry_after_s, self.max_retry_after_s))
        return wait


def is_delivered(status: int) -> bool:
    return 200 <= status < 300


def is_retryable(status: int) -> bool:
    return status >= 500 or status in RETRYABLE_STATUSES


def parse_retry_after(value: str | None, *, now: datetime) -> float | None:
    """Seconds to wait from a Retry-After header (delta-seconds or an HTTP date); None if absent
    or unreadable."""
    if not value:
        return None
    text = value.strip()
    if text.isdigit():
        return float(text)
    try:
        when = parsedate_to_datetime(text)
    except (TypeError, ValueError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    return max(0.0, (when - now).total_seconds())
