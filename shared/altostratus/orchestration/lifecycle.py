"""The state machine's lifecycle tasks: start a run (once admitted under its organization's
cap), finish it with the executor's outcome, record a failure of the machine itself.

They touch the event log and the run slots only, never a browser: the small zip Lambdas
(run_start, run_finish, run_failed) import this module and nothing of the agent engine.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any

from altostratus.domain import lifecycle
from altostratus.domain import sessions as s
from altostratus.domain.enums import RunStatus
from altostratus.domain.lifecycle import RunOutcome
from altostratus.domain.view import RunView
from altostratus.orchestration.admission import Admission
from altostratus.orchestration.errors import TransientStepError
from altostratus.orchestration.failure import failure_reason
from altostratus.orchestration.task_io import require_view, task_result
from altostratus.orchestration.workflows import WorkflowPublisher
from altostratus.ports.errors import StoreUnavailableError
from altostratus.ports.event_log import EventLog
from altostratus.ports.session_log import SessionLog

logger = logging.getLogger("altostratus.orchestration")


@dataclass
class RunLifecycle:
    """Start run, Finish run, Record failure."""

    event_log: EventLog
    admission: Admission = field(default_factory=Admission)
    # The browser sessions a run may be given; its lease lasts at most the run's own time limit.
    sessions: SessionLog | None = None
    max_run_seconds: float = 3600.0
    # How often a run waiting for a busy session asks again.
    session_retry_seconds: int = 2
    # Publishes completed runs that asked for it as workflows, and heals code runs' scripts.
    publisher: WorkflowPublisher | None = None

    def start(self, event: dict[str, Any]) -> dict[str, Any]:
        view = require_view(self.event_log, event["run_id"])
        admitted = {"admitted": True, "wait_seconds": self.admission.retry_seconds}
        if view.is_terminal:
            self.admission.release(view.org_id, view.run_id, view.created_at)  # canceled while it waited
            self._release_session(view.browser_session_id, view.run_id)
            return {**task_result(view.run_id, more=False, slice_no=0), **admitted}
        if view.browser_session_id and self.sessions is not None:
            refusal = self._lease_session(view.browser_session_id, view.run_id, view.org_id)
            if refusal == "busy":
                # Queued behind the run that holds the session: ask again shortly.
                waiting = {"admitted": False, "wait_seconds": self.session_retry_seconds}
                return {**task_result(view.run_id, more=False, slice_no=0), **waiting}
            if refusal is not None:
                self.event_log.end(view.run_id, lifecycle.fail(view.run_id, refusal))
                return {**task_result(view.run_id, more=False, slice_no=0), **admitted}
        try:
            answer = self.admission.admit(view.org_id, view.run_id, view.created_at)
        except StoreUnavailableError as exc:
            raise TransientStepError("the run slots were unavailable") from exc
        if view.status in (RunStatus.CREATED, RunStatus.QUEUED):
            if not answer.admitted:
                wait = self.admission.wait_seconds(answer, view.created_at)
                refused = {"admitted": False, "wait_seconds": wait}
                return {**task_result(view.run_id, more=False, slice_no=0), **refused}
            drafts = lifecycle.start(view, executor="state-machine")
        else:
            # Already running (a restarted execution): it goes on even if its slot was taken.
            drafts = lifecycle.resume(view, "the run's execution started again")
        self.event_log.append(view.run_id, drafts)
        return {**task_result(view.run_id, more=True, slice_no=0), **admitted}

    def _lease_session(self, session_id: str, run_id: str, org_id: str) -> str | None:
        """None when the run holds the session now; "busy" while another run holds it; else
        why the run cannot have it."""
        assert self.sessions is not None
        session = self.sessions.get(session_id)
        if session is None or session.org_id != org_id:
            return s.not_found_message(session_id)
        until = self.sessions.now() + timedelta(seconds=self.max_run_seconds)
        try:
            self.sessions.acquire(session_id, run_id, until)
        except s.SessionBusyError:
            return "busy"
        except s.SessionClosedError as exc:
            return exc.message
        except StoreUnavailableError as exc:
            raise TransientStepError("the session store was unavailable") from exc
        return None

    def _release_session(self, session_id: str | None, run_id: str) -> None:
        if session_id and self.sessions is not None:
            self.sessions.release(session_id, run_id)

    def finish(self, event: dict[str, Any]) -> dict[str, Any]:
        run_id = event["run_id"]
        view = require_view(self.event_log, run_id)
        raw = event.get("outcome")
        if raw is not None:
            outcome = RunOutcome.model_validate(raw)
            if self.publisher is not None:
                self._publish(view, outcome)
            view = self.event_log.end(run_id, lifecycle.finish(run_id, outcome))
        elif not view.is_terminal:
            view = self.event_log.end(run_id, lifecycle.fail(run_id, lifecycle.AGENT_STOPPED))
        self.admission.release(view.org_id, run_id, view.created_at)
        self._release_session(view.browser_session_id, run_id)
        return {"run_id": run_id, "status": view.status.value}

    def _publish(self, view: RunView, outcome: RunOutcome) -> None:
        assert self.publisher is not None
        try:
            self.publisher.before_finish(view, outcome)
        except StoreUnavailableError as exc:
            raise TransientStepError("the workflow store was unavailable") from exc
        except Exception:
            # The run's own ending matters more than its workflow: it still finishes.
            logger.exception("run %s: publishing its workflow failed", view.run_id)

    def failed(self, event: dict[str, Any]) -> dict[str, Any]:
        run_id = event["run_id"]
        reason = failure_reason(event.get("error"))
        logger.error(
            "run %s failed in the state machine: %s", run_id, (event.get("error") or {}).get("Error")
        )
        if self.event_log.get_view(run_id) is None:
            return {"run_id": run_id, "status": None}
        view = self.event_log.end(run_id, lifecycle.fail(run_id, reason))
        self.admission.release(view.org_id, run_id, view.created_at)
        self._release_session(view.browser_session_id, run_id)
        return {"run_id": run_id, "status": view.status.value}
