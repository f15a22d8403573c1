"""The event-log port: per run, an append-only sequence of events plus its current view.

Contract (every adapter passes `tests/contract/test_event_log.py`):
- `append` gives the drafts consecutive seqs after the run's last one and writes them, the new
  view and the artifact index in ONE atomic write, conditional on nobody else having appended
  in between; on a conflict it re-reads and retries (or raises SequenceConflictError when the
  caller pinned `expected_version`). A batch is all-or-nothing.
- The view is always `fold(read(run_id))`: the domain's `apply` builds it, and refuses events
  the run's rules forbid (InvalidTransitionError) before anything is written.
- A draft with an `event_id` already in the run's log is skipped (the rest of the batch is
  written); when every draft is such a repeat the append is a no-op that returns the current
  view (`duplicate=True`). A retried writer does not double-record.
- A `claim` given to `append` is written in the same atomic write: a unique key (an
  idempotency key, say) bound to the run. If another run already holds it, nothing is written
  and ClaimTakenError is raised; `claim_owner` says which run holds a key.
- Storage failures surface as the port's errors only: StoreUnavailableError (retry later),
  IntegrityError (a unique record would be duplicated; never retry), never a driver's own.
- `read` returns events in seq order; `get_view` is O(1) whatever the log's length.
- `list_runs` pages an organization's runs newest first (ties by id) from summaries stored with
  each view, never decoding whole views; a cursor resumes exactly after the page it ends.
"""

from __future__ import annotations

import base64
import json
import logging
import random
import time
import uuid
from abc import ABC, abstractmethod
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Protocol

from altostratus.domain import events as ev
from altostratus.domain.artifacts import ArtifactRecord
from altostratus.domain.enums import RunStatus, RunType
from altostratus.domain.errors import RunAlreadyFinishedError
from altostratus.domain.run_log import action_lines, lifecycle_lines
from altostratus.domain.run_summary import RunSummary, search_text
from altostratus.domain.view import RunView, apply
from altostratus.ports.clock import Clock
from altostratus.ports.errors import SequenceConflictError

# One line per run lifecycle event, written by whichever process appended it.
run_log = logging.getLogger("altostratus.runs")


@dataclass(frozen=True)
class AppendResult:
    view: RunView
    events: tuple[ev.Event, ...]
    duplicate: bool = False


@dataclass(frozen=True)
class Claim:
    """A unique key an append binds to its run, with a fingerprint of what asked for it (so a
    later request with the same key but another body can be told apart)."""

    key: str
    fingerprint: str = ""


@dataclass(frozen=True)
class ClaimRecord:
    key: str
    run_id: str
    fingerprint: str


@dataclass(frozen=True)
class RunQuery:
    """Filters and position of one page of an organization's runs, newest first.

    `search` matches a run whose id is exactly it, or whose title or prompt starts with it
    (compared as `search_text` normalizes them). A page starts after `cursor` (from the
    previous page's `next_cursor`) when one is given, else after `(page - 1) * page_size`
    matching runs."""

    page: int = 1
    page_size: int = 10
    statuses: frozenset[RunStatus] = frozenset()
    run_types: frozenset[RunType] = frozenset()
    search: str | None = None
    cursor: str | None = None

    @property
    def offset(self) -> int:
        return 0 if self.cursor else (self.page - 1) * self.page_size

    @property
    def after(self) -> ListPosition | None:
        return ListPosition.decode(self.cursor) if self.cursor else None

    @property
    def search_prefix(self) -> str:
        return search_text(self.search)

    @property
    def search_id(self) -> str:
        return (self.search or "").strip()


class InvalidCursorError(ValueError):
    """The cursor is not one a listing returned."""


@dataclass(frozen=True)
class ListPosition:
    """Where a listing stopped: its last run's creation time and id (the listing's order)."""

    created_at: datetime
    run_id: str

    @classmethod
    def of(cls, summary: RunSummary) -> ListPosition:
        return cls(summary.created_at, summary.run_id)

    @property
    def created_key(self) -> str:
        """The sort key both stores order runs by: creation time, then id."""
        return created_sort_key(self.created_at, self.run_id)

    def encode(self) -> str:
        raw = json.dumps([self.created_at.isoformat(), self.run_id], separators=(",", ":"))
        return base64.urlsafe_b64encode(raw.encode()).decode().rstrip("=")

    @classmethod
    def decode(cls, cursor: str) -> ListPosition:
        try:
            raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4))
            created, run_id = json.loads(raw)
            at = datetime.fromisoformat(created)
        except (ValueError, TypeError) as exc:
            raise InvalidCursorError("the cursor is not one this server returned") from exc
        if not isinstance(run_id, str) or at.tzinfo is None:
            raise InvalidCursorError("the cursor is not one this server returned")
        return cls(at, run_id)


def created_sort_key(created_at: datetime, run_id: str) -> str:
    return f"{created_at.isoformat()}#{run_id}"


@dataclass(frozen=True)
class RunPage:
    runs: tuple[RunSummary, ...]
    # Where the next page starts; None when this page holds the last matching run.
    next_cursor: str | None = None


@dataclass(frozen=True)
class PreparedAppend:
    """What an adapter writes atomically for one append."""

    run_id: str
    expected_version: int  # 0 when the run does not exist yet
    events: tuple[ev.Event, ...]
    view: RunView
    artifacts: tuple[ArtifactRecord, ...]
    # Caller-given event ids: the adapter must refuse the write (DuplicateEventError) if any exists.
    dedupe_ids: tuple[str, ...] = field(default=())
    # Written only if no run holds it yet; the adapter raises ClaimTakenError otherwise.
    claim: Claim | None = None


class DuplicateEventError(Exception):
    """Raised by an adapter's `_write` when caller-given event ids are already in the log
    (`event_ids`: those ids; nothing of the batch was written)."""

    def __init__(self, run_id: str, event_ids: frozenset[str]) -> None:
        super().__init__(f"run {run_id}: events {sorted(event_ids)} are recorded already")
        self.event_ids = event_ids


class EventLog(ABC):
    """Template: `append` does the folding, retries and idempotency; adapters do the I/O."""

    max_attempts = 100

    def __init__(self, clock: Clock) -> None:
        self._clock = clock

    # -- the port --

    def append(
        self,
        run_id: str,
        drafts: Sequence[ev.Draft],
        *,
        expected_version: int | None = None,
        claim: Claim | None = None,
    ) -> AppendResult:
        if not drafts:
            raise ValueError("append needs at least one event")
        for attempt in range(self.max_attempts):
            current = self.get_view(run_id)
            version = current.version if current else 0
            if expected_version is not None and version != expected_version:
                raise SequenceConflictError(f"run {run_id} is at version {version}, not {expected_version}")
            prepared = self._prepare(run_id, current, drafts, claim)
            try:
                self._write(prepared)
            except DuplicateEventError as exc:
                # Write what is new; the repeats are recorded already.
                drafts = [d for d in drafts if d.event_id not in exc.event_ids]
                if not drafts:
                    view = self.get_view(run_id)
                    assert view is not None
                    return AppendResult(view=view, events=(), duplicate=True)
                continue
            except SequenceConflictError:
                if expected_version is not None:
                    raise
                # Full-jitter backoff spreads a herd of writers contending for one run.
                time.sleep(random.uniform(0, min(0.2, 0.002 * 2**attempt)))
                continue
            if run_log.isEnabledFor(logging.INFO):
                for message, fields in lifecycle_lines(prepared.events, prepared.view):
                    run_log.info(message, extra=fields)
            if run_log.isEnabledFor(logging.DEBUG):
                for message, fields in action_lines(prepared.events):
                    run_log.debug(message, extra=fields)
            return AppendResult(view=prepared.view, events=prepared.events)
        raise SequenceConflictError(f"run {run_id}: gave up after {self.max_attempts} conflicting appends")

    def end(self, run_id: str, drafts: Sequence[ev.Draft]) -> RunView:
        """Append a run's terminal events (`domain.lifecycle.finish`, `fail`); idempotent, and a
        no-op returning the current view when the run already ended (a cancel that won the race,
        a retried handler)."""
        try:
            return self.append(run_id, drafts).view
        except RunAlreadyFinishedError:
            view = self.get_view(run_id)
            assert view is not None
            return view

    @abstractmethod
    def read(self, run_id: str, *, after_seq: int = 0, limit: int | None = None) -> list[ev.Event]:
        """Events of the run with seq > after_seq, in seq order ([] for an unknown run)."""

    @abstractmethod
    def get_view(self, run_id: str) -> RunView | None:
        """The stored view (the fold of the whole log), or None for an unknown run."""

    @abstractmethod
    def list_runs(self, org_id: str, query: RunQuery) -> RunPage:
        """One page of the organization's runs matching the query, newest first, read from an
        index of summaries: the cost depends on the page, not on the organization's history.
        Raises InvalidCursorError for a cursor no listing returned."""

    @abstractmethod
    def claim_owner(self, key: str) -> ClaimRecord | None:
        """Which run holds the claim `key` (given to an earlier append), or None."""

    @abstractmethod
    def get_artifact(self, artifact_id: str) -> ArtifactRecord | None:
        """The artifact index entry, or None."""

    @abstractmethod
    def list_artifacts(self, run_id: str) -> list[ArtifactRecord]:
        """The run's artifacts, oldest first."""

    # -- for adapters --

    @abstractmethod
    def _write(self, prepared: PreparedAppend) -> None:
        """Write events + view + artifact index atomically, only if the stored version is still
        `prepared.expected_version`; raise SequenceConflictError otherwise, and
        DuplicateEventError if one of `prepared.dedupe_ids` is already recorded for the run, and
        ClaimTakenError if `prepared.claim` is held already."""

    def _prepare(
        self, run_id: str, current: RunView | None, drafts: Sequence[ev.Draft], claim: Claim | None = None
    ) -> PreparedAppend:
        at = self._clock.now()
        view = current
        org_id = current.org_id if current else ""
        events: list[ev.Event] = []
        version = current.version if current else 0
        for offset, draft in enumerate(drafts, start=1):
            if isinstance(draft.data, ev.RunCreated):
                org_id = draft.data.org_id
            event = ev.Event(
                event_id=draft.event_id or f"evt_{uuid.uuid4().hex}",
                run_id=run_id,
                seq=version + offset,
                org_id=org_id,
                at=at,
                data=draft.data,
            )
            view = apply(view, event)
            events.append(event)
        assert view is not None
        artifacts = tuple(
            ArtifactRecord.from_event(e) for e in events if isinstance(e.data, ev.ArtifactStored)
        )
        return PreparedAppend(
            run_id=run_id,
            expected_version=version,
            events=tuple(events),
            view=view,
            artifacts=artifacts,
            dedupe_ids=tuple(d.event_id for d in drafts if d.event_id),
            claim=claim,
        )


class UnstartedRuns(Protocol):
    """Runs still created or queued, oldest first (the sweeper's listing)."""

    def unstarted_before(self, cutoff: datetime) -> list[str]:
        """Ids of runs not started yet that were submitted before `cutoff`."""
        ...
