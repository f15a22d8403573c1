"""The embedded orchestrator: the run state machine (statemachine/run.asl.json) executed
in-process by the ASL interpreter, on a bounded pool of workers (one browser each).

Queued runs start in submission order, except that a run whose organization already has its
cap of runs executing waits — without holding a worker — and the next run of another
organization starts instead; a waiting run starts, oldest of its organization first, when one
of them ends. On start-up, runs left `queued` are queued again and runs left `running` by a
stopped server are resumed from their last checkpoint, or ended with a reason when they have
none — none is left running forever.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Mapping
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from altostratus.domain import lifecycle
from altostratus.domain.enums import RunStatus
from altostratus.domain.lifecycle import RunOutcome
from altostratus.orchestration.admission import Admission
from altostratus.orchestration.asl import ExecutionFailedError, Interpreter, load_definition
from altostratus.ports.errors import StoreUnavailableError
from altostratus.ports.event_log import EventLog

logger = logging.getLogger("altostratus.runner")

STATE_MACHINE = Path(__file__).resolve().parents[3] / "statemachine" / "run.asl.json"
# The names the embedded runner gives the functions in the definition's substitutions.
FUNCTIONS = {
    "RunStartFunctionArn": "run_start",
    "AgentStepFunctionArn": "agent_step",
    "RunFinishFunctionArn": "run_finish",
    "RunFailedFunctionArn": "run_failed",
}
LOST_PROGRESS = (
    "The server stopped while this run was in progress, before it saved a checkpoint to resume "
    "from; it was ended rather than repeating actions it may already have taken."
)

Handler = Callable[[dict[str, Any]], dict[str, Any]]


class LocalRunner:
    def __init__(
        self,
        *,
        handlers: Mapping[str, Handler],
        event_log: EventLog,
        unfinished: Callable[[], list[tuple[str, RunStatus, str | None]]],
        workers: int = 2,
        definition_path: Path = STATE_MACHINE,
        sleep: Callable[[float], None] | None = None,
        on_worker_exit: Callable[[], None] | None = None,
        admission: Admission | None = None,
    ) -> None:
        self._definition = load_definition(definition_path, FUNCTIONS)
        missing = set(FUNCTIONS.values()) - set(handlers)
        if missing:
            raise ValueError(f"no handler for {sorted(missing)}")
        self._handlers = dict(handlers)
        self._log = event_log
        self._unfinished = unfinished
        self._workers = workers
        self._sleep = sleep
        self._on_worker_exit = on_worker_exit
        self._admission = admission or Admission()
        self._lock = threading.Lock()
        self._changed = threading.Condition(self._lock)  # a run arrived or ended, or stopping
        self._waiting: list[str] = []  # runs not executing yet, in submission order
        self._orgs: dict[str, tuple[str, datetime]] = {}  # run -> organization, submitted at
        self._known: set[str] = set()
        self._threads: list[threading.Thread] = []
        self._pending = 0  # waiting or executing
        self._stopping = False

    # -- the Orchestrator port --

    def start(self, run_id: str) -> None:
        with self._changed:
            if run_id in self._known:
                return  # a repeated start is harmless, like a named execution on AWS
            self._known.add(run_id)
            self._pending += 1
            self._waiting.append(run_id)
            self._changed.notify()

    def stop(self, run_id: str) -> None:
        """Nothing to do: the cancel is in the run's log, and its slice ends between actions."""

    # -- lifecycle --

    def start_workers(self) -> None:
        """Execute queued runs in the background (after `recover`, at start-up)."""
        self._stopping = False
        for n in range(self._workers):
            thread = threading.Thread(target=self._work, name=f"runner-{n}", daemon=True)
            thread.start()
            self._threads.append(thread)

    def recover(self) -> None:
        """Requeue runs a previous process left queued; resume or end those it left running."""
        for run_id, status, checkpoint in self._unfinished():
            if status is RunStatus.RUNNING and checkpoint is None:
                view = self._log.get_view(run_id)
                interrupted = lifecycle.close_interrupted_step(view) if view is not None else []
                if interrupted:
                    self._log.append(run_id, interrupted)
                view = self._log.end(run_id, lifecycle.finish(run_id, RunOutcome.failed(LOST_PROGRESS)))
                self._admission.release(view.org_id, run_id, view.created_at)
                continue
            self.start(run_id)

    def shutdown(self, *, timeout: float | None = None) -> None:
        with self._changed:
            self._stopping = True
            self._changed.notify_all()
        for thread in self._threads:
            thread.join(timeout)
        self._threads.clear()

    def wait_idle(self, timeout: float | None = None) -> bool:
        """True once nothing is queued or executing (tests and the demo)."""
        with self._changed:
            return self._changed.wait_for(lambda: self._pending == 0, timeout)

    # -- workers --

    def _work(self) -> None:
        try:
            self._serve()
        finally:
            if self._on_worker_exit is not None:
                self._on_worker_exit()

    def _serve(self) -> None:
        while (run_id := self._next()) is not None:
            try:
                self.execute(run_id)
            finally:
                # Whatever the execution did, its slot is free now (ends release it too).
                if run_id in self._orgs:
                    org_id, since = self._orgs[run_id]
                    self._admission.release(org_id, run_id, since)
                with self._changed:
                    self._pending -= 1
                    self._known.discard(run_id)
                    self._orgs.pop(run_id, None)
                    self._changed.notify_all()

    def _next(self) -> str | None:
        """The oldest waiting run that may execute now; blocks until there is one (None: stop)."""
        with self._changed:
            while not self._stopping:
                run_id = self._admissible()
                if run_id is not None:
                    self._waiting.remove(run_id)
                    return run_id
                # Nothing admissible: wait for a run to arrive or end; slots held by runs this
                # process does not execute free themselves when their leases expire.
                self._changed.wait(timeout=self._admission.retry_seconds if self._waiting else None)
            return None

    def _admissible(self) -> str | None:
        if not self._admission.capped:
            return self._waiting[0] if self._waiting else None
        full: set[str] = set()  # organizations refused in this pass: their later runs wait too
        for run_id in self._waiting:
            org_id, since = self._org(run_id)
            if org_id in full:
                continue
            try:
                if self._admission.admit(org_id, run_id, since).admitted:
                    return run_id
            except StoreUnavailableError:
                logger.warning("could not take a slot for %s; trying again shortly", run_id, exc_info=True)
            full.add(org_id)
        return None

    def _org(self, run_id: str) -> tuple[str, datetime]:
        """The run's organization and submission time (its place in the organization's line)."""
        known = self._orgs.get(run_id)
        if known is None:
            view = self._log.get_view(run_id)
            known = (view.org_id, view.created_at) if view is not None else ("", datetime.now(UTC))
            self._orgs[run_id] = known
        return known

    def execute(self, run_id: str) -> list[str]:
        """Runs one execution to its end; returns the states it went through."""
        interpreter = Interpreter(self._definition, invoke=self._invoke)
        if self._sleep is not None:
            interpreter.sleep = self._sleep
        try:
            interpreter.run({"run_id": run_id})
        except ExecutionFailedError as exc:
            logger.warning("execution of %s ended in %s", run_id, exc.error)
            self._record_unrecorded_end(run_id, {"Error": exc.error, "Cause": exc.cause})
        except Exception as exc:
            # The state machine records failures itself; reaching here means even that failed.
            logger.exception("execution of %s crashed", run_id)
            self._record_unrecorded_end(run_id, {"Error": type(exc).__name__, "Cause": ""})
        return interpreter.trace

    def _record_unrecorded_end(self, run_id: str, error: dict[str, str]) -> None:
        """What the execution-status rule does on AWS: an execution that ended without the run
        ending (an error no Catch takes, or recording the failure failed) fails the run."""
        try:
            view = self._log.get_view(run_id)
            if view is not None and not view.is_terminal:
                self._handlers["run_failed"]({"run_id": run_id, "error": error})
        except Exception:
            logger.exception("could not record the end of %s", run_id)

    def _invoke(self, function: str, payload: Any) -> Any:
        return self._handlers[function](payload)
