"""The embedded server's rate limiter: buckets in this process's memory.

One `alto serve` process serves a data directory, so its memory is the whole truth; the
buckets start full again when it restarts, which only ever lets a caller through.
"""

from __future__ import annotations

import threading

from altostratus.domain.rate_limit import RateDecision, RateLimit, admit, micros
from altostratus.ports.clock import Clock

# Buckets that are full again carry no information; they are dropped once there are this many.
_PRUNE_AT = 10_000


class InProcessRateLimiter:
    def __init__(self, limit: RateLimit, clock: Clock) -> None:
        self._limit = limit
        self._clock = clock
        self._tats: dict[str, int] = {}
        self._lock = threading.Lock()

    @property
    def limit(self) -> RateLimit:
        return self._limit

    def acquire(self, subject: str) -> RateDecision:
        now = micros(self._clock.now())
        with self._lock:
            decision, tat = admit(self._limit, self._tats.get(subject), now)
            if tat is not None:
                self._tats[subject] = tat
                if len(self._tats) > _PRUNE_AT:
                    self._tats = {s: t for s, t in self._tats.items() if t > now}
        return decision
