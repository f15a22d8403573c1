"""A named background thread that runs one step function until asked to stop.

The embedded runtime's outbox publisher and webhook worker are such loops. A step returns
True when it did work (run it again at once) or False when idle (wait `idle_s`, or until
`wake()`); an exception is logged and retried with a growing pause, never silently swallowed.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable

logger = logging.getLogger("altostratus.background")

_MAX_ERROR_PAUSE_S = 30.0


class BackgroundLoop:
    def __init__(self, name: str, step: Callable[[], bool], *, idle_s: float) -> None:
        self.name = name
        self._step = step
        self._idle_s = idle_s
        self._stop = threading.Event()
        self._wake = threading.Event()
        self._thread: threading.Thread | None = None

    @property
    def running(self) -> bool:
        return self._thread is not None and self._thread.is_alive()

    def start(self) -> None:
        if self.running:
            return
        self._stop.clear()
        self._thread = threading.Thread(target=self._run, name=self.name, daemon=True)
        self._thread.start()

    def wake(self) -> None:
        self._wake.set()

    def stop(self, timeout: float = 30.0) -> None:
        self._stop.set()
        self._wake.set()
        if self._thread is not None:
            self._thread.join(timeout)
            self._thread = None

    def _run(self) -> None:
        errors = 0
        while not self._stop.is_set():
            try:
                busy = self._step()
                errors = 0
            except Exception:
                errors += 1
                pause = min(_MAX_ERROR_PAUSE_S, self._idle_s * 2**errors)
                logger.exception(
                    "%s: step failed (%d in a row); retrying in %.2f s", self.name, errors, pause
                )
                self._stop.wait(pause)
                continue
            if not busy:
                self._wake.wait(self._idle_s)
                self._wake.clear()
