"""Identifiers: `<prefix>_<digits>`, where the digits are a time-ordered 63-bit integer."""

from __future__ import annotations

import secrets
import threading
import time
from collections.abc import Callable

# Milliseconds since 2024-01-01 leave 41 bits of room for about 70 years.
_EPOCH_MS = 1_704_067_200_000
_RANDOM_BITS = 22
_RANDOM_MASK = (1 << _RANDOM_BITS) - 1


class IdFactory:
    """Makes sortable ids: later ids compare greater, within and across processes.

    The low bits are a per-process counter that starts at a random value, so two processes
    creating ids in the same millisecond collide only with probability ~2**-22; every store
    writes new ids with a conditional put, so a collision is a retry, never an overwrite.
    """

    def __init__(self, now_ms: Callable[[], int] | None = None) -> None:
        self._now_ms = now_ms or (lambda: time.time_ns() // 1_000_000)
        self._lock = threading.Lock()
        self._last_ms = 0
        self._counter = secrets.randbits(_RANDOM_BITS)

    def number(self) -> int:
        with self._lock:
            now = max(self._now_ms(), self._last_ms)
            if now == self._last_ms:
                self._counter = (self._counter + 1) & _RANDOM_MASK
                if self._counter == 0:
                    now += 1
            else:
                self._counter = secrets.randbits(_RANDOM_BITS - 1)
            self._last_ms = now
            return ((now - _EPOCH_MS) << _RANDOM_BITS) | self._counter

    def new(self, prefix: str) -> str:
        return f"{prefix}_{self.number()}"
