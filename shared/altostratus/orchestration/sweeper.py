"""The sweeper: no run stays `queued` with nothing to execute it.

The API writes a run, then starts its execution; a crash (or an outage of the orchestrator)
between the two leaves the run queued with no execution. On a schedule, the sweeper looks at
runs still unstarted some time after they were submitted: one without an execution gets it
started (starts are idempotent: the execution is named by the run); one whose execution has
ended is failed with a reason. A run with a running execution is waiting for a slot under its
organization's cap and is left alone.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any

from altostratus.domain import lifecycle
from altostratus.domain.lifecycle import RunOutcome
from altostratus.ports.clock import Clock, SystemClock
from altostratus.ports.errors import StoreUnavailableError
from altostratus.ports.event_log import EventLog, UnstartedRuns
from altostratus.ports.orchestrator import Executions, Orchestrator

logger = logging.getLogger("altostratus.orchestration")

ENDED_UNSTARTED = "The run's execution ended before the run could start."


@dataclass
class RunSweeper:
    event_log: EventLog
    unstarted: UnstartedRuns
    orchestrator: Orchestrator
    executions: Executions
    # How long after its submission a run may still be waiting for its execution to start.
    grace_seconds: float = 120.0
    clock: Clock = field(default_factory=SystemClock)

    def sweep(self) -> dict[str, Any]:
        started: list[str] = []
        failed: list[str] = []
        cutoff = self.clock.now() - timedelta(seconds=self.grace_seconds)
        for run_id in self.unstarted.unstarted_before(cutoff):
            try:
                state = self.executions.state(run_id)
                if state is None:
                    logger.warning("run %s was queued with no execution; starting it", run_id)
                    self.orchestrator.start(run_id)
                    started.append(run_id)
                elif state != "RUNNING":
                    view = self.event_log.get_view(run_id)
                    if view is not None and not view.is_terminal:
                        self.event_log.end(
                            run_id, lifecycle.finish(run_id, RunOutcome.failed(ENDED_UNSTARTED))
                        )
                        failed.append(run_id)
            except StoreUnavailableError:
                logger.warning("could not sweep run %s; the next sweep tries again", run_id, exc_info=True)
        return {"started": started, "failed": failed}
