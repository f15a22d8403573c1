"""Who a presented API key is: the key store's answer, optionally cached for a bounded time,
and a record of each key's last use that costs at most one write per key per interval.

The cache is for the AWS runtime, where each lookup is a DynamoDB read: a warm Lambda answers
from memory, and a revoked key stops working there within `cache_seconds`. The embedded
server runs with no cache (`cache_seconds=0`), because keys are revoked by the `alto` CLI in
another process, which could not reach this memory; a SQLite read is cheap anyway.
"""

from __future__ import annotations

import logging
import threading
from collections import OrderedDict
from datetime import datetime, timedelta

from altostratus.domain.keys import Principal, hash_key
from altostratus.ports.clock import Clock
from altostratus.ports.keys import KeyStore

logger = logging.getLogger("altostratus.api")

_MAX_CACHED = 1024


class KeyLookup:
    def __init__(
        self,
        keys: KeyStore,
        clock: Clock,
        *,
        cache_seconds: float = 0.0,
        use_interval: timedelta = timedelta(minutes=1),
    ) -> None:
        self._keys = keys
        self._clock = clock
        self._ttl = timedelta(seconds=cache_seconds)
        self._use_interval = use_interval
        # By the key's hash, so this memory never holds a raw key beyond the request.
        self._cache: OrderedDict[str, tuple[Principal, datetime]] = OrderedDict()
        self._recorded: dict[str, datetime] = {}
        self._lock = threading.Lock()

    def authenticate(self, raw_key: str) -> Principal | None:
        now = self._clock.now()
        principal = self._cached(hash_key(raw_key), now) if self._ttl else None
        if principal is None:
            principal = self._keys.authenticate(raw_key)
            if principal is not None and self._ttl:
                self._remember(hash_key(raw_key), principal, now)
        if principal is not None:
            self._record_use(principal.key_id, now)
        return principal

    def _cached(self, digest: str, now: datetime) -> Principal | None:
        with self._lock:
            entry = self._cache.get(digest)
            if entry is None:
                return None
            principal, until = entry
            if now >= until:
                del self._cache[digest]
                return None
            self._cache.move_to_end(digest)
            return principal

    def _remember(self, digest: str, principal: Principal, now: datetime) -> None:
        until = now + self._ttl
        if principal.key_expires_at is not None:
            until = min(until, principal.key_expires_at)  # a rotated key's grace period ends on time
        with self._lock:
            self._cache[digest] = (principal, until)
            self._cache.move_to_end(digest)
            while len(self._cache) > _MAX_CACHED:
                self._cache.popitem(last=False)

    def _record_use(self, key_id: str, now: datetime) -> None:
        with self._lock:
            last = self._recorded.get(key_id)
            if last is not None and now - last < self._use_interval:
                return
            # Noted before writing: concurrent requests do not all write, and a failing store
            # is tried again only after the interval.
            self._recorded[key_id] = now
        try:
            self._keys.record_use(key_id, now)
        except Exception as exc:  # last use is bookkeeping: it never fails the request
            logger.warning("could not record the use of key %s: %s", key_id, type(exc).__name__)
