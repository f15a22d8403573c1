"""The embedded orchestrator: the run state machine (statemachine/run.asl.json) executed
in-process by the ASL interpreter, on a bounded pool of workers (one browser each).

Queued runs start in submission order. On start-up, runs left `queued` are queued again and
runs left `running` by a stopped server are resumed from their last checkpoint, or ended with
a reason when they have none — none is left running forever.
"""

from __future__ import annotations

import logging
import queue
import threading
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

from altostratus.domain import commands
from altostratus.domain.enums import RunStatus
from altostratus.engine.agent.outcome import Outcome, finish_run
from altostratus.orchestration.asl import ExecutionFailedError, Interpreter, load_definition
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
        self._queue: queue.Queue[str | None] = queue.Queue()
        self._known: set[str] = set()
        self._lock = threading.Lock()
        self._threads: list[threading.Thread] = []
        self._idle = threading.Condition(self._lock)
        self._pending = 0  # queued or executing

    # -- the Orchestrator port --

    def start(self, run_id: str) -> None:
        with self._lock:
            if run_id in self._known:
                return  # a repeated start is harmless, like a named execution on AWS
            self._known.add(run_id)
            self._pending += 1
        self._queue.put(run_id)

    def stop(self, run_id: str) -> None:
        """Nothing to do: the cancel is in the run's log, and its slice ends between actions."""

    # -- lifecycle --

    def start_workers(self) -> None:
        """Execute queued runs in the background (after `recover`, at start-up)."""
        for n in range(self._workers):
            thread = threading.Thread(target=self._work, name=f"runner-{n}", daemon=True)
            thread.start()
            self._threads.append(thread)

    def recover(self) -> None:
        """Requeue runs a previous process left queued; resume or end those it left running."""
        for run_id, status, checkpoint in self._unfinished():
            if status is RunStatus.RUNNING and checkpoint is None:
                view = self._log.get_view(run_id)
                interrupted = commands.close_interrupted_step(view) if view is not None else []
                if interrupted:
                    self._log.append(run_id, interrupted)
                finish_run(self._log, run_id, Outcome.failed(LOST_PROGRESS))
                continue
            self.start(run_id)

    def shutdown(self, *, timeout: float | None = None) -> None:
        for _ in self._threads:
            self._queue.put(None)
        for thread in self._threads:
            thread.join(timeout)
        self._threads.clear()

    def wait_idle(self, timeout: float | None = None) -> bool:
        """True once nothing is queued or executing (tests and the demo)."""
        with self._idle:
            return self._idle.wait_for(lambda: self._pending == 0, timeout)

    # -- workers --

    def _work(self) -> None:
        try:
            self._serve_queue()
        finally:
            if self._on_worker_exit is not None:
                self._on_worker_exit()

    def _serve_queue(self) -> None:
        while True:
            run_id = self._queue.get()
            if run_id is None:
                return
            try:
                self.execute(run_id)
            finally:
                with self._idle:
                    self._pending -= 1
                    self._known.discard(run_id)
                    self._idle.notify_all()

    def execute(self, run_id: str) -> list[str]:
        """Runs one execution to its end; returns the states it went through."""
        interpreter = Interpreter(self._definition, invoke=self._invoke)
        if self._sleep is not None:
            interpreter.sleep = self._sleep
        try:
            interpreter.run({"run_id": run_id})
        except ExecutionFailedError as exc:
            logger.warning("execution of %s ended in %s", run_id, exc.error)
        except Exception:
            # The state machine records failures itself; reaching here means even that failed.
            logger.exception("execution of %s crashed", run_id)
        return interpreter.trace

    def _invoke(self, function: str, payload: Any) -> Any:
        return self._handlers[function](payload)
