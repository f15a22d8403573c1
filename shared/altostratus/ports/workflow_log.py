"""The workflow-log port: per workflow (`wpid_`) and per script (`s_`), its events and its view.

Contract (every adapter passes `tests/contract/test_workflow_log.py`):
- `append` gives the events consecutive seqs after the aggregate's last one and writes them with
  the new view in ONE atomic write, conditional on nobody else having appended in between; with
  `expected_version` a conflict raises SequenceConflictError, without it the append re-reads
  and retries. The domain's `apply` refuses events the aggregate's rules forbid.
- `workflow` / `script` are O(1) reads of the view; a workflow id never reads as a script.
- `list_workflows` / `list_scripts` return an organization's aggregates of that kind, newest
  first, one page at a time.
"""

from __future__ import annotations

import random
import time
from abc import ABC, abstractmethod
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from altostratus.domain import workflows as w
from altostratus.ports.clock import Clock
from altostratus.ports.errors import SequenceConflictError


@dataclass(frozen=True)
class PreparedCatalogAppend:
    aggregate_id: str
    expected_version: int
    events: tuple[w.CatalogEvent, ...]
    view: w.CatalogView


class WorkflowLog(ABC):
    max_attempts = 50

    def __init__(self, clock: Clock) -> None:
        self._clock = clock

    def now(self) -> datetime:
        return self._clock.now()

    def append(
        self,
        aggregate_id: str,
        data: Sequence[w.CatalogEventData],
        *,
        expected_version: int | None = None,
    ) -> w.CatalogView:
        if not data:
            raise ValueError("append needs at least one event")
        for attempt in range(self.max_attempts):
            current = self.get(aggregate_id)
            version = current.version if current else 0
            if expected_version is not None and version != expected_version:
                raise SequenceConflictError(f"{aggregate_id} is at version {version}, not {expected_version}")
            at = self._clock.now()
            view = current
            events = []
            for offset, payload in enumerate(data, start=1):
                event = w.CatalogEvent(aggregate_id=aggregate_id, seq=version + offset, at=at, data=payload)
                view = w.apply(view, event)
                events.append(event)
            assert view is not None
            try:
                self._write(PreparedCatalogAppend(aggregate_id, version, tuple(events), view))
            except SequenceConflictError:
                if expected_version is not None:
                    raise
                time.sleep(random.uniform(0, min(0.2, 0.002 * 2**attempt)))
                continue
            return view
        raise SequenceConflictError(f"{aggregate_id}: gave up after {self.max_attempts} conflicts")

    def workflow(self, workflow_permanent_id: str) -> w.WorkflowView | None:
        view = self.get(workflow_permanent_id)
        return view if isinstance(view, w.WorkflowView) else None

    def script(self, script_id: str) -> w.ScriptView | None:
        view = self.get(script_id)
        return view if isinstance(view, w.ScriptView) else None

    @abstractmethod
    def get(self, aggregate_id: str) -> w.CatalogView | None:
        """The aggregate's view, or None for an unknown one."""

    @abstractmethod
    def read(self, aggregate_id: str) -> list[w.CatalogEvent]:
        """The aggregate's events in seq order."""

    @abstractmethod
    def list_workflows(self, org_id: str, *, offset: int = 0, limit: int = 10) -> list[w.WorkflowView]:
        """The organization's workflows, newest first."""

    @abstractmethod
    def list_scripts(self, org_id: str, *, offset: int = 0, limit: int = 10) -> list[w.ScriptView]:
        """The organization's scripts, newest first."""

    @abstractmethod
    def _write(self, prepared: PreparedCatalogAppend) -> None:
        """Write the events and the view atomically if the stored version is still
        `prepared.expected_version`, else raise SequenceConflictError."""
