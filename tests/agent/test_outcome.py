"""Ending a run: one terminal event per run, whoever finishes first."""

from __future__ import annotations

from altostratus.domain import events as ev
from altostratus.domain import lifecycle
from altostratus.domain.enums import RunStatus
from altostratus.domain.lifecycle import RunOutcome
from tests.agent.harness import Harness


def _started(h: Harness) -> str:
    run_id = h.create_run(prompt="Anything")
    h.event_log.append(run_id, [ev.Draft(data=ev.RunStarted())])
    return run_id


def test_finishing_twice_records_one_terminal_event(harness: Harness) -> None:
    run_id = _started(harness)
    harness.event_log.end(run_id, lifecycle.finish(run_id, RunOutcome.completed({"a": 1})))
    view = harness.event_log.end(run_id, lifecycle.finish(run_id, RunOutcome.completed({"a": 1})))
    assert view.status is RunStatus.COMPLETED and view.output == {"a": 1}
    assert len(harness.of_type(run_id, ev.RunCompleted)) == 1


def test_an_outcome_after_the_run_was_canceled_changes_nothing(harness: Harness) -> None:
    run_id = _started(harness)
    harness.event_log.append(run_id, [ev.Draft(data=ev.RunCanceled(reason="user"))])
    view = harness.event_log.end(run_id, lifecycle.finish(run_id, RunOutcome.failed("too late")))
    assert view.status is RunStatus.CANCELED and view.failure_reason == "user"


def test_max_steps_outcome_is_timed_out_with_a_system_error(harness: Harness) -> None:
    run_id = _started(harness)
    view = harness.event_log.end(run_id, lifecycle.finish(run_id, RunOutcome.max_steps(7)))
    assert view.status is RunStatus.TIMED_OUT
    assert [(e.error_code, e.error_type) for e in view.errors] == [
        ("REACH_MAX_STEPS", "SYSTEM_DEFINED_ERROR")
    ]
