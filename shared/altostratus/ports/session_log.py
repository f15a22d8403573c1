"""The session-log port: per browser session, its events and its current view.

Contract (every adapter passes `tests/contract/test_session_log.py`):
- `append` gives the events consecutive seqs after the session's last one and writes them with
  the new view in ONE atomic write, conditional on nobody else having appended in between;
  with `expected_version` a conflict raises SequenceConflictError, without it the append
  re-reads and retries. The domain's `apply` refuses events the session's rules forbid.
- `get` is O(1); `list_open` returns an organization's sessions not yet closed, newest first,
  from an index of open sessions only (a closed one leaves it in the write that closes it).
- `acquire` is the lease: a conditional append that succeeds only while the session is open
  and free (or already held by the same run, or its holder's lease has run out).
"""

from __future__ import annotations

import random
import time
from abc import ABC, abstractmethod
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from altostratus.domain import sessions as s
from altostratus.ports.clock import Clock
from altostratus.ports.errors import SequenceConflictError


@dataclass(frozen=True)
class PreparedSessionAppend:
    session_id: str
    expected_version: int
    events: tuple[s.SessionEvent, ...]
    view: s.SessionView


class SessionLog(ABC):
    max_attempts = 50

    def __init__(self, clock: Clock) -> None:
        self._clock = clock

    def now(self) -> datetime:
        return self._clock.now()

    def append(
        self,
        session_id: str,
        data: Sequence[s.SessionEventData],
        *,
        expected_version: int | None = None,
    ) -> s.SessionView:
        if not data:
            raise ValueError("append needs at least one event")
        for attempt in range(self.max_attempts):
            current = self.get(session_id)
            version = current.version if current else 0
            if expected_version is not None and version != expected_version:
                raise SequenceConflictError(
                    f"session {session_id} is at version {version}, not {expected_version}"
                )
            at = self._clock.now()
            view = current
            events = []
            for offset, payload in enumerate(data, start=1):
                event = s.SessionEvent(session_id=session_id, seq=version + offset, at=at, data=payload)
                view = s.apply(view, event)
                events.append(event)
            assert view is not None
            try:
                self._write(PreparedSessionAppend(session_id, version, tuple(events), view))
            except SequenceConflictError:
                if expected_version is not None:
                    raise
                time.sleep(random.uniform(0, min(0.2, 0.002 * 2**attempt)))
                continue
            return view
        raise SequenceConflictError(f"session {session_id}: gave up after {self.max_attempts} conflicts")

    def acquire(self, session_id: str, run_id: str, until: datetime) -> s.SessionView:
        """Lease the session to `run_id` until `until`. Raises SessionBusyError,
        SessionClosedError, or KeyError for an unknown session."""
        for _ in range(self.max_attempts):
            view = self.get(session_id)
            if view is None:
                raise KeyError(session_id)
            leased = s.lease(view, run_id, until, self._clock.now())
            try:
                return self.append(session_id, [leased], expected_version=view.version)
            except SequenceConflictError:
                continue
        raise SequenceConflictError(
            f"session {session_id}: gave up leasing after {self.max_attempts} conflicts"
        )

    def release(self, session_id: str, run_id: str) -> s.SessionView | None:
        """End `run_id`'s lease; a no-op when it does not hold it (released already, expired and
        taken by another run, or the session is gone)."""
        view = self.get(session_id)
        if view is None or view.lease_run_id != run_id:
            return view
        return self.append(session_id, [s.SessionReleased(run_id=run_id)])

    @abstractmethod
    def get(self, session_id: str) -> s.SessionView | None:
        """The session's view, or None for an unknown one."""

    @abstractmethod
    def read(self, session_id: str) -> list[s.SessionEvent]:
        """The session's events in seq order."""

    @abstractmethod
    def list_open(self, org_id: str) -> list[s.SessionView]:
        """The organization's sessions not closed yet, newest first."""

    @abstractmethod
    def open_sessions(self) -> list[s.SessionView]:
        """Every session not closed yet, of every organization (for closing those past their
        deadline)."""

    @abstractmethod
    def _write(self, prepared: PreparedSessionAppend) -> None:
        """Write the events and the view atomically if the stored version is still
        `prepared.expected_version`, else raise SequenceConflictError."""
