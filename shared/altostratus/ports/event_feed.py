"""Reading every run's events in commit order, and the runs that have not ended: what the
embedded outbox and the embedded runner's recovery need from the event log (on AWS the
DynamoDB stream and Step Functions play these parts)."""

from __future__ import annotations

from typing import Protocol

from altostratus.domain import events as ev
from altostratus.domain.enums import RunStatus


class EventFeed(Protocol):
    def read_global(self, *, after: int = 0, limit: int = 500) -> list[tuple[int, ev.Event]]:
        """Every run's events with a global position above `after`, in the order they were
        committed, with that position."""
        ...

    def unfinished_runs(self) -> list[tuple[str, RunStatus, str | None]]:
        """Every organization's runs that have not ended, oldest first: run id, status and
        checkpoint address."""
        ...


class OutboxCursor(Protocol):
    """How far the outbox has published the feed, kept across restarts."""

    def position(self) -> int:
        """The last published position (0 before the first publish)."""
        ...

    def advance(self, gseq: int) -> None:
        """Persist that everything up to `gseq` is published (never moves backwards)."""
        ...
