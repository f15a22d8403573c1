"""The orchestration port: start a queued run's execution, stop a canceled one."""

from __future__ import annotations

from typing import Protocol


class Orchestrator(Protocol):
    def start(self, run_id: str) -> None:
        """Begin executing the run. Idempotent: starting a started run does nothing."""
        ...

    def stop(self, run_id: str) -> None:
        """Ask the run's execution to stop soon (best effort; the run records its own end)."""
        ...


class Executions(Protocol):
    """What the orchestrator knows of a run's execution (the sweeper asks)."""

    def state(self, run_id: str) -> str | None:
        """RUNNING, SUCCEEDED, FAILED, TIMED_OUT, ABORTED, ...; None when the run has none."""
        ...
