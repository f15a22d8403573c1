"""The embedded runner under a per-organization cap: the real runner, state machine, lifecycle
and SQLite slots, with an agent step the test holds open so it decides when each run ends."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

from altostratus.adapters.sqlite_db import SQLiteDatabase
from altostratus.adapters.sqlite_event_log import SQLiteEventLog
from altostratus.adapters.sqlite_run_slots import SQLiteRunSlots
from altostratus.domain import events as ev
from altostratus.domain import lifecycle
from altostratus.domain.enums import RunStatus
from altostratus.orchestration.admission import Admission
from altostratus.orchestration.lifecycle import RunLifecycle
from altostratus.ports.clock import SystemClock
from altostratus.runtimes.local_runner import LocalRunner
from tests.support.runs import created, d


@dataclass
class HeldSteps:
    """agent_step: records which runs execute and finishes one only when the test lets it."""

    gates: dict[str, threading.Event] = field(default_factory=dict)
    executing: list[str] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def step(self, event: dict[str, Any]) -> dict[str, Any]:
        run_id = event["run_id"]
        with self.lock:
            self.executing.append(run_id)
            gate = self.gates.setdefault(run_id, threading.Event())
        assert gate.wait(30), f"{run_id} was never let finish"
        outcome = {"status": "completed", "output": {"run": run_id}}
        return {
            "run_id": run_id,
            "continue": False,
            "slice": 1,
            "outcome": outcome,
            "code_wait_seconds": 0,
            "code_answers": None,
        }

    def finish(self, run_id: str) -> None:
        with self.lock:
            self.gates.setdefault(run_id, threading.Event()).set()


@dataclass
class Cap:
    log: SQLiteEventLog
    slots: SQLiteRunSlots
    steps: HeldSteps
    runner: LocalRunner
    sleeps: list[float]

    def submit(self, run_id: str, org_id: str) -> None:
        self.log.append(run_id, [created(org_id), d(ev.RunQueued())])
        self.runner.start(run_id)

    def status(self, run_id: str) -> RunStatus:
        view = self.log.get_view(run_id)
        assert view is not None
        return view.status


@pytest.fixture
def cap(tmp_path: Path) -> Iterator[Cap]:
    db = SQLiteDatabase(tmp_path / "alto.db")
    clock = SystemClock()
    log = SQLiteEventLog(db, clock)
    slots = SQLiteRunSlots(db, clock)
    admission = Admission(slots, max_running_per_org=1, lease_seconds=60, retry_seconds=1)
    lifecycle = RunLifecycle(log, admission)
    steps = HeldSteps()
    sleeps: list[float] = []
    runner = LocalRunner(
        handlers={
            "run_start": lifecycle.start,
            "agent_step": steps.step,
            "run_finish": lifecycle.finish,
            "run_failed": lifecycle.failed,
        },
        event_log=log,
        unfinished=log.unfinished_runs,
        workers=2,
        sleep=sleeps.append,
        admission=admission,
    )
    yield Cap(log, slots, steps, runner, sleeps)
    for run_id in list(steps.gates):
        steps.finish(run_id)
    runner.shutdown(timeout=10)
    db.close()


def _until(check: Callable[[], bool], what: str) -> None:
    deadline = time.monotonic() + 10
    while not check():
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        time.sleep(0.01)


def test_one_organizations_backlog_does_not_hold_back_another_organizations_run(cap: Cap) -> None:
    cap.submit("tsk_a1", "o_a")
    cap.submit("tsk_a2", "o_a")
    cap.submit("tsk_a3", "o_a")
    cap.submit("tsk_b1", "o_b")
    cap.runner.start_workers()
    # Two workers: one runs a1, the other passes over a2 and a3 (o_a is at its cap) to b1.
    _until(lambda: sorted(cap.steps.executing) == ["tsk_a1", "tsk_b1"], "a1 and b1 to execute")
    time.sleep(0.2)
    assert sorted(cap.steps.executing) == ["tsk_a1", "tsk_b1"]
    assert cap.status("tsk_a2") is RunStatus.QUEUED and cap.status("tsk_a3") is RunStatus.QUEUED
    assert [lease.run_id for lease in cap.slots.holders("o_a")] == ["tsk_a1"]

    cap.steps.finish("tsk_a1")
    # The oldest waiting run of the organization goes next, once a1 has ended.
    _until(lambda: "tsk_a2" in cap.steps.executing, "a2 to execute")
    assert "tsk_a3" not in cap.steps.executing
    a1, a2 = cap.log.get_view("tsk_a1"), cap.log.get_view("tsk_a2")
    assert a1 is not None and a2 is not None
    assert a1.status is RunStatus.COMPLETED and a1.finished_at is not None
    assert a2.started_at is not None and a2.started_at >= a1.finished_at

    for run_id in ("tsk_b1", "tsk_a2", "tsk_a3"):
        cap.steps.finish(run_id)
    assert cap.runner.wait_idle(timeout=10)
    assert sorted(cap.steps.executing[:2]) == ["tsk_a1", "tsk_b1"]
    assert cap.steps.executing[2:] == ["tsk_a2", "tsk_a3"]
    assert all(cap.status(r) is RunStatus.COMPLETED for r in ("tsk_a1", "tsk_a2", "tsk_a3", "tsk_b1"))
    assert cap.slots.holders("o_a") == [] and cap.slots.holders("o_b") == []
    # No worker sat in the state machine's Wait: the runner only started admitted runs.
    assert cap.sleeps == []


def test_a_run_canceled_while_it_waited_ends_without_executing(cap: Cap) -> None:
    cap.submit("tsk_a1", "o_a")
    cap.submit("tsk_a2", "o_a")
    cap.runner.start_workers()
    _until(lambda: cap.steps.executing == ["tsk_a1"], "a1 to execute")
    waiting = cap.log.get_view("tsk_a2")
    assert waiting is not None
    cap.log.append("tsk_a2", lifecycle.cancel(waiting))
    cap.steps.finish("tsk_a1")
    assert cap.runner.wait_idle(timeout=10)
    assert cap.steps.executing == ["tsk_a1"]
    assert cap.status("tsk_a2") is RunStatus.CANCELED
    assert cap.slots.holders("o_a") == []
    # The slot is free for the organization's next run.
    cap.submit("tsk_a3", "o_a")
    _until(lambda: "tsk_a3" in cap.steps.executing, "a3 to execute")
