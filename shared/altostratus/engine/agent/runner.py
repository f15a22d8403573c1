"""The engine's entry points: run one time slice of a run, or a whole run (tests, demo)."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, cast

from altostratus.domain import lifecycle
from altostratus.domain.enums import ArtifactType, RunStatus
from altostratus.domain.lifecycle import RunOutcome
from altostratus.domain.view import RunView
from altostratus.engine.agent import code_wait
from altostratus.engine.agent.context import RunContext
from altostratus.engine.agent.deps import AgentDeps
from altostratus.engine.agent.error_codes import classify
from altostratus.engine.agent.recorder import Recorder, RunEndedElsewhereError
from altostratus.engine.agent.state import AgentState
from altostratus.engine.agent.step import llm_usage, run_step
from altostratus.ports.browser import NAVIGATION_REFUSED, AgentBrowser
from altostratus.ports.llm import LLMError

if TYPE_CHECKING:
    from altostratus.ports.computer import ComputerBrowser

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class SliceResult:
    """`continue_`: run another slice (the deadline came first). `outcome`: how the run ended
    (to hand to `finish_run`); None while it goes on, or when it ended elsewhere (a cancel)."""

    continue_: bool
    outcome: RunOutcome | None
    state: AgentState
    # > 0: the run waits for a one-time code; the next slice should start this many seconds on.
    code_wait_seconds: int = 0


def new_state(deps: AgentDeps, run_id: str) -> AgentState:
    return AgentState(run_id=run_id, next_step_id=deps.ids.new("stp"))


def _ensure_running(deps: AgentDeps, view: RunView) -> RunView:
    drafts = lifecycle.start(view, executor="agent")
    return deps.event_log.append(view.run_id, drafts).view if drafts else view


def _close_interrupted_step(deps: AgentDeps, view: RunView, state: AgentState) -> RunView:
    """A step a dead executor left open is closed as interrupted; if the checkpoint would
    start that same step again, the retry gets a new id (its events are new facts)."""
    drafts = lifecycle.close_interrupted_step(view)
    if not drafts:
        return view
    if state.next_step_id == view.current_step_id:
        state.next_step_id = deps.ids.new("stp")
    return deps.event_log.append(view.run_id, drafts).view


def _run_time_left(deps: AgentDeps, view: RunView) -> float | None:
    """Seconds until the run's wall-clock limit (None: no limit)."""
    limit = deps.settings.max_run_seconds
    if limit is None or view.started_at is None:
        return None
    return limit - (deps.clock.now() - view.started_at).total_seconds()


async def run_slice(
    deps: AgentDeps,
    run_id: str,
    *,
    browser: AgentBrowser,
    deadline: float,
    state: AgentState | None = None,
    on_step: Callable[[AgentState], Awaitable[None]] | None = None,
) -> SliceResult:
    """Run steps until the run ends, `deadline` (on `deps.monotonic`) nears, or a cancel is seen.

    Appends every step's events as it goes, but not the terminal event: give the outcome to
    `finish_run`. `on_step` is awaited after each step that leaves the run going (a
    checkpoint, so a slice that dies resumes after its last completed step). Pass the `state`
    of the previous slice (None for the first); a fresh browser is fine, since the first
    observation of each slice is a full snapshot.

    While it runs, a watcher reads the run's view every `watch_interval_s`: once the run has
    ended elsewhere (a cancel) the slice stops at once, even in the middle of a model call;
    once the run's wall-clock limit passes, it ends timed out.
    """
    view = deps.event_log.get_view(run_id)
    if view is None:
        raise KeyError(f"unknown run {run_id}")
    lost_checkpoint = state is None
    state = state or new_state(deps, run_id)
    if view.is_terminal:
        return SliceResult(continue_=False, outcome=None, state=state)
    view = _ensure_running(deps, view)
    view = _close_interrupted_step(deps, view, state)
    if lost_checkpoint:
        # No checkpoint (the first slice, or one was lost): steps already recorded still count
        # against max_steps (an interrupted one does not).
        state.steps_taken = view.step_count
    work = asyncio.ensure_future(_steps(deps, view, browser, deadline, state, on_step))
    watcher = asyncio.ensure_future(_watch(deps, run_id, work))
    try:
        return await work
    except asyncio.CancelledError:
        if not watcher.done() or watcher.cancelled():
            raise  # the slice itself was cancelled from outside
        ended = watcher.result()
        if ended is None:
            return SliceResult(continue_=False, outcome=None, state=state)
        # The wall-clock limit: the run still needs its final screenshot and terminal event.
        outcome = await _finalize_safely(deps, run_id, browser, state, ended)
        return SliceResult(continue_=False, outcome=outcome, state=state)
    finally:
        watcher.cancel()


async def _watch(deps: AgentDeps, run_id: str, work: asyncio.Future[SliceResult]) -> RunOutcome | None:
    """Cancels `work` when the run ended elsewhere (returns None) or ran out of time (returns
    the timed-out outcome); runs until `work` is done otherwise."""
    interval = deps.settings.watch_interval_s
    while not work.done():
        await asyncio.sleep(interval)
        view = await asyncio.to_thread(deps.event_log.get_view, run_id)
        if view is None or view.is_terminal:
            work.cancel()
            return None
        left = _run_time_left(deps, view)
        if left is not None and left <= 0:
            work.cancel()
            return RunOutcome.run_time_limit(deps.settings.max_run_seconds or 0)
    return None


async def _steps(
    deps: AgentDeps,
    view: RunView,
    browser: AgentBrowser,
    deadline: float,
    state: AgentState,
    on_step: Callable[[AgentState], Awaitable[None]] | None = None,
) -> SliceResult:
    run_id = view.run_id
    ctx = RunContext.build(deps, view, browser)
    ctx.deadline = deadline
    code_wait.restore_code(ctx, state)
    state.need_full_snapshot = True
    try:
        if not state.navigated and ctx.start_url:
            opened = await browser.open(ctx.start_url)
            state.navigated = True
            if opened.error == NAVIGATION_REFUSED:
                # The page the user asked for is off limits: nothing the agent does can help.
                refused = RunOutcome.failed(
                    f"The start URL was refused: {ctx.secrets.redact(opened.summary)}"
                )
                return SliceResult(
                    continue_=False, outcome=await _finalize(ctx, state, browser, refused), state=state
                )
            if not opened.ok:
                state.notes.append(f"Opening the start page failed: {ctx.secrets.redact(opened.summary)}")
        while True:
            # The view the last step's end left (a fresh read only when there is none).
            current = ctx.last_view or deps.event_log.get_view(run_id)
            ctx.last_view = None
            assert current is not None
            view = current
            if view.is_terminal:
                return SliceResult(continue_=False, outcome=None, state=state)
            if view.cancel_requested:
                outcome: RunOutcome | None = RunOutcome.canceled()
                break
            if state.steps_taken >= ctx.max_steps:
                outcome = RunOutcome.max_steps(ctx.max_steps)
                break
            left = _run_time_left(deps, view)
            if left is not None and left <= 0:
                outcome = RunOutcome.run_time_limit(deps.settings.max_run_seconds or 0)
                break
            if state.code_wait is not None:
                ended = await code_wait.resume_in_slice(ctx, state, view)
                if ended is not None:
                    outcome = RunOutcome.failed(ended)
                    break
                if state.code_wait is not None:
                    return _paused(deps, state)
            if deadline - deps.monotonic() < deps.settings.step_time_reserve_s:
                return SliceResult(continue_=True, outcome=None, state=state)
            if ctx.engine.is_cua:
                # Imported here: the computer-use step needs the browser layer (Playwright),
                # which only the executor's image has, not the API's.
                from altostratus.engine.cua.step import run_cua_step

                outcome = await run_cua_step(ctx, state, cast("ComputerBrowser", browser))
            else:
                outcome = await run_step(ctx, state, browser)
            if outcome is not None:
                break
            if on_step is not None:
                await on_step(state)
            if state.code_wait is not None:
                return _paused(deps, state)  # the step's checkpoint holds the wait
        assert outcome is not None
        outcome = await _finalize(ctx, state, browser, outcome)
    except RunEndedElsewhereError:
        return SliceResult(continue_=False, outcome=None, state=state)
    return SliceResult(continue_=False, outcome=outcome, state=state)


def _paused(deps: AgentDeps, state: AgentState) -> SliceResult:
    assert state.code_wait is not None
    wait_s = state.code_wait.next_look_in(deps.clock.now())
    return SliceResult(continue_=True, outcome=None, state=state, code_wait_seconds=wait_s)


async def _finalize_safely(
    deps: AgentDeps, run_id: str, browser: AgentBrowser, state: AgentState, outcome: RunOutcome
) -> RunOutcome:
    """`_finalize` after the step in progress was abandoned (the run's time is up)."""
    view = deps.event_log.get_view(run_id)
    if view is None or view.is_terminal:
        return outcome
    try:
        return await _finalize(RunContext.build(deps, view, browser), state, browser, outcome)
    except RunEndedElsewhereError:
        return outcome


async def _finalize(
    ctx: RunContext, state: AgentState, browser: AgentBrowser, outcome: RunOutcome
) -> RunOutcome:
    """The final screenshot, and the user's error codes on a failure that has none yet."""
    deps = ctx.deps
    rec = Recorder(
        event_log=deps.event_log,
        artifacts=deps.artifacts,
        ids=deps.ids,
        run_id=ctx.run_id,
        org_id=ctx.org_id,
        step_id=state.last_step_id or f"{ctx.run_id}:final",
    )
    try:
        png = await browser.screenshot(scrolls=ctx.screenshot_scrolls)
    except Exception:  # the run's outcome must not be lost because the last picture failed
        log.warning("run %s: no final screenshot", ctx.run_id, exc_info=True)
    else:
        rec.artifact(ArtifactType.SCREENSHOT_FINAL, png, "image/png")
    try:
        for download in await browser.new_downloads():
            rec.download(download)
    except Exception:  # as above: a file that cannot be read must not lose the outcome
        log.warning("run %s: could not store the last downloads", ctx.run_id, exc_info=True)
    try:
        rec.flush()
    except RunEndedElsewhereError:
        pass  # a cancel came first; the artifacts are recorded all the same
    needs_codes = (
        outcome.status in (RunStatus.FAILED, RunStatus.TERMINATED)
        and ctx.error_codes
        and not any(e.error_type == "USER_DEFINED_ERROR" for e in outcome.errors)
    )
    if not needs_codes:
        return outcome
    try:
        observation = (await browser.observe(full=True)).redacted(ctx.secrets.redact)
        found, usage, _exchange = await classify(
            deps.llm,
            model=deps.settings.cheap_model,
            goal=ctx.goal,
            codes=ctx.error_codes,
            failure_reason=outcome.reason or "",
            history=state.history[-30:],
            url=observation.url,
            page_text=ctx.secrets.redact(observation.full_text or observation.text),
            tag=ctx.tag,
        )
    except LLMError:
        return outcome  # the failure reason already says why the model is unavailable
    except Exception:  # as above: a broken browser must not lose the outcome
        log.warning("run %s: could not classify the failure", ctx.run_id, exc_info=True)
        return outcome
    # The classification is the run's last model call: its cost goes on the terminal event.
    return outcome.model_copy(update={"errors": (*outcome.errors, *found), "usage": llm_usage(usage)})


async def run_to_end(
    deps: AgentDeps,
    run_id: str,
    *,
    browser: AgentBrowser,
    slice_seconds: float = 600.0,
    max_slices: int = 1000,
) -> RunView:
    """Loop slices with one browser until the run ends, then append its terminal event.

    For tests and the demo; production drives `run_slice` from the state machine and
    checkpoints `SliceResult.state` between slices.
    """
    state: AgentState | None = None
    for _ in range(max_slices):
        result = await run_slice(
            deps, run_id, browser=browser, deadline=deps.monotonic() + slice_seconds, state=state
        )
        state = result.state
        if result.outcome is not None:
            return deps.event_log.end(run_id, lifecycle.finish(run_id, result.outcome))
        if not result.continue_:
            break
    view = deps.event_log.get_view(run_id)
    assert view is not None
    return view
