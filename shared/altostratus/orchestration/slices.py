"""The state machine's agent task: run a slice of agent steps with a live browser. The
agent_step function (the Chromium image) and the embedded runner call this same object; the
lifecycle tasks live in `orchestration.lifecycle`, which needs no browser.

A slice runs steps with one live browser; between slices the agent's state and the browser's
state (cookies, storage, URL, tabs) are checkpointed to the artifact store, so the next slice —
maybe another Lambda, or the embedded server after a restart — carries on where it stopped.
"""

from __future__ import annotations

import asyncio
import json
import logging
import threading
import time
from collections.abc import Callable, Coroutine
from dataclasses import dataclass, field
from typing import Any, TypeVar

from altostratus.domain import events as ev
from altostratus.domain.enums import StepStatus
from altostratus.domain.errors import RunAlreadyFinishedError
from altostratus.domain.lifecycle import RunOutcome
from altostratus.domain.sessions import timeout_reason
from altostratus.domain.view import RunView
from altostratus.engine.agent.code_wait import Looked, look_between_slices
from altostratus.engine.agent.context import RunContext
from altostratus.engine.agent.deps import AgentDeps
from altostratus.engine.agent.recorder import Recorder
from altostratus.engine.agent.runner import run_slice
from altostratus.engine.agent.state import AgentState, PausedReplay
from altostratus.engine.replay.executor import replay_plan
from altostratus.engine.replay.secrets import RunSecrets
from altostratus.orchestration.admission import Admission
from altostratus.orchestration.errors import TransientStepError
from altostratus.orchestration.sessions import ended_reason
from altostratus.orchestration.task_io import code_answers, require_view, task_result
from altostratus.orchestration.workflows import WorkflowPublisher
from altostratus.ports.browser import AgentBrowser, BrowserProvider
from altostratus.ports.errors import StoreUnavailableError
from altostratus.ports.secret_box import executor_request, open_document, seal_document
from altostratus.ports.session_log import SessionLog

logger = logging.getLogger("altostratus.orchestration")
T = TypeVar("T")


@dataclass(frozen=True)
class SliceBudget:
    # A slice stops starting steps this long before its end (and before Lambda's timeout).
    slice_seconds: float = 600.0
    safety_margin_s: float = 30.0


@dataclass
class AgentSlices:
    """Run agent steps: one time slice with a live browser, then a checkpoint."""

    agent: AgentDeps
    browsers: BrowserProvider
    budget: SliceBudget = SliceBudget()
    # Exceptions meaning "the browser went away"; they make a slice retryable.
    browser_gone: tuple[type[BaseException], ...] = ()
    # Embedded workers run every slice on their own long-lived event loop, so a browser the
    # provider keeps survives from one slice (and run) to the next; Lambda uses a fresh loop.
    persistent_loop: bool = False
    # A Lambda execution environment runs one invocation at a time and is frozen in between,
    # its Chromium with it: one event loop kept for the environment lets the provider's kept
    # browser serve the next invocation (a new context per run) instead of a launch per slice.
    warm_environment: bool = False
    admission: Admission = field(default_factory=Admission)
    # The browser sessions runs may use: a run whose session ended fails with the reason.
    sessions: SessionLog | None = None
    # Where a code run finds its script's plan; None: code runs fail, saying so.
    plans: WorkflowPublisher | None = None
    _threads: threading.local = field(default_factory=threading.local)
    _warm: asyncio.Runner | None = None
    _warm_lock: threading.Lock = field(default_factory=threading.Lock)

    def run(self, event: dict[str, Any], *, remaining_s: Callable[[], float] | None = None) -> dict[str, Any]:
        run_id, slice_no = event["run_id"], int(event.get("slice") or 0)
        view = require_view(self.agent.event_log, run_id)
        if view.is_terminal:
            return task_result(run_id, more=False, slice_no=slice_no)
        self.admission.renew(view.org_id, run_id, view.created_at)
        budget = self.budget.slice_seconds
        if remaining_s is not None:
            budget = min(budget, remaining_s() - self.budget.safety_margin_s)
        if (ended := self._session_ended(view)) is not None:
            return task_result(run_id, more=False, slice_no=slice_no, outcome=RunOutcome.failed(ended))
        if (left := self._session_left(view)) is not None:
            # The session closes at its deadline even mid-run: no slice runs past it. A step
            # no longer fits before it, so the run waits for it and ends with the session.
            if left <= self.agent.settings.step_time_reserve_s:
                time.sleep(max(0.0, left))
                if (ended := self._session_ended(view)) is not None:
                    failed = RunOutcome.failed(ended)
                    return task_result(run_id, more=False, slice_no=slice_no, outcome=failed)
                return task_result(run_id, more=True, slice_no=slice_no)  # extended meanwhile
            budget = min(budget, left)
        agent_state, browser_state = self._load_checkpoint(view)
        if agent_state is not None and (wait := agent_state.code_wait) is not None:
            # The looks since the checkpoint counted their answers in the state machine's data,
            # not in new checkpoints: both only grow from the checkpoint's, so the larger holds.
            for kind, times in code_answers(event).items():
                wait.pulls[kind] = max(times, wait.pulls.get(kind, 0))
        if agent_state is not None and agent_state.code_wait is not None and not view.cancel_requested:
            try:
                waiting = self._look_for_code(view, agent_state, browser_state)
            except RunAlreadyFinishedError:
                waiting = None  # canceled while its sources were asked: the view below says so
            if waiting is not None:
                return task_result(
                    run_id,
                    more=True,
                    slice_no=slice_no + 1,
                    code_wait_seconds=waiting,
                    code_answers=agent_state.code_wait.pulls,
                )
            # The look takes as long as the run's totp_url takes to answer: a run canceled
            # meanwhile ends here, without a browser launched to type its code.
            view = require_view(self.agent.event_log, run_id)
            if view.is_terminal:
                return task_result(run_id, more=False, slice_no=slice_no)
        try:
            more, outcome, code_wait_s = self._run(self._slice(view, agent_state, browser_state, budget))
        except self.browser_gone as exc:
            if (ended := self._session_ended(view)) is not None:
                # The session closed under the run (its timeout, a close): that is why.
                return task_result(run_id, more=False, slice_no=slice_no, outcome=RunOutcome.failed(ended))
            raise TransientStepError(f"the browser stopped unexpectedly ({type(exc).__name__})") from exc
        except StoreUnavailableError as exc:
            raise TransientStepError("the run store was unavailable") from exc
        return task_result(
            run_id, more=more, slice_no=slice_no + 1, outcome=outcome, code_wait_seconds=code_wait_s
        )

    def _look_for_code(
        self, view: RunView, state: AgentState, browser_state: dict[str, Any] | None
    ) -> int | None:
        """A run paused for a one-time code asks its sources before any browser is opened: the
        seconds to wait before the next look while there is still no code (the look stores
        nothing: what the totp_url answered goes on in the state machine's data), else None (the
        code came, sealed into a new checkpoint so a retried slice has it too; or the wait is
        over and the slice with a browser ends the run)."""
        deps = self.agent
        try:
            request = executor_request(view, deps.secret_box, deps.artifacts)
            looked = look_between_slices(deps, view, state, request.totp_identifier, request.totp_url)
        except StoreUnavailableError as exc:
            raise TransientStepError("the run store was unavailable") from exc
        if looked is Looked.ARRIVED:
            self._save_checkpoint(view, state, browser_state)
        if looked is not Looked.WAITING:
            return None
        assert state.code_wait is not None
        return state.code_wait.next_look_in(deps.clock.now())

    def _session_ended(self, view: RunView) -> str | None:
        session_id = view.browser_session_id
        if not session_id or self.sessions is None:
            return None
        session = self.sessions.get(session_id)
        if session is not None and not session.is_closed and self.sessions.now() >= session.deadline:
            return timeout_reason(session_id, session.timeout)
        return ended_reason(session, session_id)

    def _session_left(self, view: RunView) -> float | None:
        """Seconds until the run's session times out (None: the run has no session)."""
        session_id = view.browser_session_id
        if not session_id or self.sessions is None:
            return None
        session = self.sessions.get(session_id)
        if session is None:
            return None
        return (session.deadline - self.sessions.now()).total_seconds()

    def _run(self, work: Coroutine[Any, Any, T]) -> T:
        if self.warm_environment:
            return self._run_warm(work)
        if not self.persistent_loop:
            return asyncio.run(work)
        runner: asyncio.Runner | None = getattr(self._threads, "runner", None)
        if runner is None:
            runner = self._threads.runner = asyncio.Runner()
        return runner.run(work)

    def _run_warm(self, work: Coroutine[Any, Any, T]) -> T:
        if not self._warm_lock.acquire(blocking=False):
            # Another invocation holds the environment's loop. Lambda never does this (one
            # invocation per environment); a host running invocations side by side does, and
            # that slice gets a browser of its own, closed with its loop.
            return asyncio.run(self._closing_browser(work))
        try:
            if self._warm is None:
                self._warm = asyncio.Runner()
            return self._warm.run(work)
        finally:
            self._warm_lock.release()

    async def _closing_browser(self, work: Coroutine[Any, Any, T]) -> T:
        try:
            return await work
        finally:
            await self.browsers.close()

    def close_environment(self) -> None:
        """Close the environment's kept browser and its loop (a host shutting down)."""
        with self._warm_lock:
            runner, self._warm = self._warm, None
            if runner is None:
                return
            try:
                runner.run(self.browsers.close())
            finally:
                runner.close()

    def close_worker(self) -> None:
        """Called by a worker thread as it stops: closes its browser and its loop."""
        runner: asyncio.Runner | None = getattr(self._threads, "runner", None)
        if runner is None:
            return
        try:
            runner.run(self.browsers.close())
        finally:
            runner.close()
            self._threads.runner = None

    async def _slice(
        self, view: RunView, state: AgentState | None, restore: dict[str, Any] | None, budget: float
    ) -> tuple[bool, RunOutcome | None, int]:
        """Whether the run goes on, its outcome if it ended, and the seconds to wait for a code
        before the next slice (0: none)."""
        try:
            return await self._recorded_slice(view, state, restore, budget)
        finally:
            # The slice's recording is stored by now, redacted with the codes the run obtained
            # in it; nothing else needs them (the next slice obtains its own, or unseals the one
            # its checkpoint holds).
            self.agent.obtained.forget(view.run_id)

    async def _recorded_slice(
        self, view: RunView, state: AgentState | None, restore: dict[str, Any] | None, budget: float
    ) -> tuple[bool, RunOutcome | None, int]:
        deps = self.agent
        request = executor_request(view, deps.secret_box, deps.artifacts)
        saved_at = [-1]  # steps taken at the last checkpoint

        async def checkpoint(done: AgentState) -> None:
            # After every step: a slice that dies (timeout, out of memory) is retried from here.
            self._save_checkpoint(view, done, await browser.export_state())
            saved_at[0] = done.steps_taken

        async with self.browsers.open(view, request, restore) as browser:
            if view.run_with == "code" and not view.ai_fallback_triggered:
                # The script replays with no model; only if it stops (and may fall back) does
                # the agent go on, from the page the replay left, in this same slice.
                ended = await self._replay(view, browser.agent, state, deps.monotonic() + budget)
                if isinstance(ended, AgentState):
                    # Its code did not come in time: the state machine waits, no browser open.
                    self._save_checkpoint(view, ended, await browser.export_state())
                    assert ended.code_wait is not None
                    return True, None, ended.code_wait.next_look_in(deps.clock.now())
                if ended is not None:
                    return False, ended, 0
                view = require_view(deps.event_log, view.run_id)
                state = AgentState(
                    run_id=view.run_id,
                    next_step_id=deps.ids.new("stp"),
                    navigated=True,
                    steps_taken=view.step_count,
                )
            result = await run_slice(
                deps,
                view.run_id,
                browser=browser.agent,
                deadline=deps.monotonic() + budget,
                state=state,
                on_step=checkpoint,
            )
            if result.continue_ and saved_at[0] != result.state.steps_taken:
                self._save_checkpoint(view, result.state, await browser.export_state())
        return result.continue_, result.outcome, result.code_wait_seconds

    async def _replay(
        self, view: RunView, browser: AgentBrowser, state: AgentState | None, deadline: float
    ) -> RunOutcome | AgentState | None:
        """Replay the run's script as one step: the run's outcome, None when the agent is to
        take over (the replay stopped and the run may fall back), or the state to checkpoint
        when the replay waits for its one-time code between slices (`state`, from that
        checkpoint, resumes it at the step that types the code)."""
        deps = self.agent
        paused = state.replay if state is not None else None
        plan = None
        if self.plans is not None and view.script_id is not None:
            plan = self.plans.load_plan(view.org_id, view.script_id, view.script_revision_id)
        if plan is None:
            reason = f"The script {view.script_id} of this workflow has no replay plan."
            if not view.ai_fallback:
                return RunOutcome.failed(reason)
            self._fell_back(view, 0, 0, reason)
            return None
        step_id = paused.step_id if paused is not None else deps.ids.new("stp")
        rec = Recorder(
            event_log=deps.event_log,
            artifacts=deps.artifacts,
            ids=deps.ids,
            run_id=view.run_id,
            org_id=view.org_id,
            step_id=step_id,
        )
        started = deps.monotonic()
        earlier_ms = paused.elapsed_ms if paused is not None else 0
        if paused is None:
            goal = f"Replay of script {view.script_id} ({len(plan.steps)} steps)"
            started_step = ev.StepStarted(
                step_id=step_id, order=view.next_step_order, url=plan.start_url, goal=goal
            )
            rec.append(started_step, "started")
            state = AgentState(run_id=view.run_id, next_step_id=deps.ids.new("stp"))
        elif view.cancel_requested:
            # Canceled while it waited for its code: nothing more is typed.
            canceled = ev.StepFinished(step_id=step_id, status=StepStatus.CANCELED, duration_ms=earlier_ms)
            rec.append(canceled, "finished")
            return RunOutcome.canceled()
        assert state is not None
        ctx = RunContext.build(deps, view, browser)
        ctx.deadline = deadline
        # The plan names its secrets; the run's credentials, codes and request give their values.
        secrets = RunSecrets(ctx, view, state)
        result = await replay_plan(
            plan,
            _parameters(view),
            browser,
            recorder=rec,
            secrets=secrets.resolve,
            redaction=secrets.redaction,
            start_at=paused.resume_at if paused is not None else 1,
            # Resumed: the checkpoint gave the page back; opening the start page again could
            # make the site send another code.
            open_start_url=paused is None,
        )
        elapsed = earlier_ms + round((deps.monotonic() - started) * 1000)
        if result.waiting_at is not None:
            assert state.code_wait is not None
            state.replay = PausedReplay(step_id=step_id, resume_at=result.waiting_at, elapsed_ms=elapsed)
            state.steps_taken = require_view(deps.event_log, view.run_id).step_count
            return state
        if result.completed:
            rec.stage(ev.OutputProduced(output=result.output, step_id=step_id), "output")
            rec.append(
                ev.StepFinished(step_id=step_id, status=StepStatus.COMPLETED, duration_ms=elapsed), "finished"
            )
            return RunOutcome.completed(result.output)
        reason = result.reason or "the replay stopped"
        failed = ev.StepFinished(
            step_id=step_id, status=StepStatus.FAILED, failure_reason=reason, duration_ms=elapsed
        )
        rec.append(failed, "finished")
        if not view.ai_fallback:
            return RunOutcome.failed(f"The script's {reason}" if reason.startswith("step ") else reason)
        self._fell_back(view, result.steps_done, result.failed_step or 0, reason)
        return None

    def _fell_back(self, view: RunView, done: int, failed: int, reason: str) -> None:
        fell_back = ev.ScriptFellBack(steps_done=done, failed_step=failed, reason=reason)
        self.agent.event_log.append(
            view.run_id, [ev.Draft(data=fell_back, event_id=f"{view.run_id}:fell_back")]
        )

    def _save_checkpoint(
        self, view: RunView, state: AgentState, browser_state: dict[str, Any] | None
    ) -> None:
        deps = self.agent
        # Cookies, storage and tab URLs carry logins (and a start URL's credentials): the
        # checkpoint is sealed like the run's secret request parts.
        document = {"agent": json.loads(state.dumps()), "browser": browser_state}
        data = seal_document(deps.secret_box, document, context=_checkpoint_context(view))
        key = f"{view.org_id}/{view.run_id}/checkpoints/{deps.ids.new('ck')}.json"
        uri = deps.artifacts.put(key, data, content_type="application/json")
        saved = ev.CheckpointSaved(uri=uri, next_step_order=state.steps_taken + 1)
        deps.event_log.append(view.run_id, [ev.Draft(data=saved)])

    def _load_checkpoint(self, view: RunView) -> tuple[AgentState | None, dict[str, Any] | None]:
        if not view.checkpoint_uri:
            return None, None
        raw = open_document(
            self.agent.secret_box,
            self.agent.artifacts.get(view.checkpoint_uri),
            context=_checkpoint_context(view),
            what=f"run {view.run_id}: its checkpoint",
        )
        return AgentState.model_validate(raw["agent"]), raw.get("browser")


def _parameters(view: RunView) -> dict[str, str]:
    """The run's workflow parameters as the text a replay types."""
    given = view.request.get("parameters")
    if not isinstance(given, dict):
        return {}
    return {str(k): v if isinstance(v, str) else json.dumps(v) for k, v in given.items() if v is not None}


def _checkpoint_context(view: RunView) -> str:
    return f"{view.run_id}:checkpoint"
