"""Waiting for a one-time code longer than a slice lasts, without a browser held open meanwhile.

A run's code can take minutes to come (the code timeout is 15 minutes by default). With
`totp_wait_between_slices` the slice waits for it inline only while the slice has time; when
the slice runs out first, the run is paused (`AgentState.code_wait`), the slice ends with a
checkpoint, and the state machine waits before the next slice, which asks the sources again
before it opens any browser (`look_between_slices`). The code, once obtained, is kept sealed in
the agent's state so whichever slice types it has it; the model sees the wait as one long
`request_verification_code` call, whose tool result is rewritten when the code comes.
"""

from __future__ import annotations

import enum
from datetime import datetime, timedelta

from altostratus.domain.view import RunView
from altostratus.engine.agent import verification as vc
from altostratus.engine.agent.context import RunContext
from altostratus.engine.agent.deps import AgentDeps
from altostratus.engine.agent.results import CallResult
from altostratus.engine.agent.state import AgentState, PausedCodeWait

WAITING_TEXT = "Waiting for the verification code; the run goes on once it has come."


def obtained_text(code: str) -> str:
    """The tool result of an obtained code: its length only."""
    return (
        f"A verification code of {len(code)} characters was obtained (it is not shown to you). "
        f"Call {vc.ENTER_CODE} with the box to type it into, or one box per character."
    )


def sources_for(deps: AgentDeps, identifier: str | None, url: str | None) -> vc.CodeSources | None:
    """Where a run's one-time codes come from; None when it has no way to get one."""
    pull = finder = None
    if url and deps.code_endpoint is not None and deps.keys is not None:
        pull = vc.CodePull(deps.code_endpoint, deps.keys, deps.ids, deps.clock)
    if identifier and deps.otp_codes is not None and deps.secret_box is not None:
        finder = vc.CodeFinder(deps.otp_codes, deps.secret_box, deps.clock)
    if pull is None and finder is None:
        return None
    return vc.CodeSources(pull=pull, url=url, finder=finder, identifier=identifier)


def no_code_reason(timeout_s: float, sources: vc.CodeSources, diary: vc.PullDiary) -> str:
    """Why a run that waited `timeout_s` for a code fails: each source it asked, and what its
    totp_url answered."""
    within = f"within {timeout_s:g} seconds"
    reasons = []
    if sources.pull is not None:
        said = diary.describe() or "nothing"
        reasons.append(f"No verification code came from the run's totp_url {within}; it answered: {said}.")
    if sources.finder is not None:
        reasons.append(
            f"No verification code was pushed for the run's totp_identifier {within} (codes scoped to "
            "other runs, expired or already used are not typed)."
        )
    return " ".join(reasons)


def _context(run_id: str) -> str:
    return f"{run_id}:{vc.CODE_SECRET}"


def keep_code(ctx: RunContext, state: AgentState, code: str) -> None:
    """The code becomes a run secret, and is sealed into the state for the slices after this one
    (not kept at all where the deployment has no key: it is never stored in clear)."""
    ctx.keep_code(code)
    box = ctx.deps.secret_box
    state.sealed_code = box.seal(code, context=_context(state.run_id)) if box is not None else None


def sealed_code(ctx: RunContext, state: AgentState) -> str | None:
    """The code an earlier slice (or a look between slices) obtained, unsealed; None if none."""
    box = ctx.deps.secret_box
    if not state.sealed_code or box is None:
        return None
    return box.unseal(state.sealed_code, context=_context(state.run_id))


def restore_code(ctx: RunContext, state: AgentState) -> None:
    """A code an earlier slice obtained, back among the run's secrets."""
    code = sealed_code(ctx, state)
    if code is not None:
        # Kept as if obtained in this slice: hidden in its trace as well.
        ctx.keep_code(code)


def pause_budget(ctx: RunContext) -> float | None:
    """Seconds the current slice may wait for a code before pausing the run; None when the run
    waits inline for the whole code timeout (waiting between slices is off, the slice has no
    deadline, or the code could not be kept sealed)."""
    deps = ctx.deps
    if not deps.settings.totp_wait_between_slices or ctx.deadline is None or deps.secret_box is None:
        return None
    return max(0.0, ctx.deadline - deps.monotonic())


def pause(
    ctx: RunContext, state: AgentState, call_id: str, *, started: datetime, diary: vc.PullDiary
) -> None:
    settings = ctx.deps.settings
    state.code_wait = PausedCodeWait(
        call_id=call_id,
        gives_up_at=started + timedelta(seconds=settings.totp_timeout_s),
        pulls=dict(diary.counts),
        code_wait_seconds=max(1, round(settings.totp_poll_s)),
    )


def arrived(deps: AgentDeps, state: AgentState, code: str) -> None:
    """The paused run's code came: sealed into the state, and the waiting call's result says so."""
    wait = state.code_wait
    assert wait is not None and deps.secret_box is not None
    state.sealed_code = deps.secret_box.seal(code, context=_context(state.run_id))
    obtained = obtained_text(code)
    answered = CallResult(obtained).tool_result(wait.call_id)
    state.pending_results = [
        answered if block.get("tool_use_id") == wait.call_id else block for block in state.pending_results
    ]
    # The verifier reads the history: there too the call obtained the code.
    state.history = [line.replace(WAITING_TEXT, obtained) for line in state.history]
    state.code_wait = None


class Looked(enum.Enum):
    ARRIVED = "arrived"  # the code is sealed in the state: a slice with a browser types it
    WAITING = "waiting"  # still none: the state machine waits again
    OVER = "over"  # the wait's time is up: a slice with a browser ends the run


def look_between_slices(
    deps: AgentDeps, view: RunView, state: AgentState, identifier: str | None, url: str | None
) -> Looked:
    """One ask of the paused run's code sources, with no browser open."""
    wait = state.code_wait
    assert wait is not None
    sources = sources_for(deps, identifier, url)
    now = deps.clock.now()
    limit = deps.settings.max_run_seconds
    out_of_time = (
        limit is not None and view.started_at is not None and (now - view.started_at).total_seconds() >= limit
    )
    if sources is None or deps.secret_box is None or out_of_time or wait.seconds_left(now) <= 0:
        return Looked.OVER
    diary = vc.PullDiary(dict(wait.pulls))
    code = sources.look(view, diary)
    wait.pulls = diary.counts
    if code is None:
        return Looked.WAITING
    arrived(deps, state, code)
    return Looked.ARRIVED


async def resume_in_slice(ctx: RunContext, state: AgentState, view: RunView) -> str | None:
    """A slice with a browser found the run paused: it waits on while it has time. None when the
    code came or the slice ran out first (`state.code_wait` then still set); the failure reason
    when the wait's time is up."""
    deps = ctx.deps
    wait = state.code_wait
    assert wait is not None
    sources = sources_for(deps, ctx.totp_identifier, ctx.totp_url)
    left = wait.seconds_left(deps.clock.now())
    diary = vc.PullDiary(dict(wait.pulls))
    if sources is None:
        return "This run has no way to obtain verification codes."
    budget = pause_budget(ctx)
    if left > 0:
        timeout = left if budget is None else min(left, budget)
        looking = vc.CodeWait(poll_s=deps.settings.totp_poll_s, timeout_s=timeout)
        code = await sources.wait(view, looking, diary)
        wait.pulls = diary.counts
        if code is not None:
            arrived(deps, state, code)
            restore_code(ctx, state)
            return None
        if wait.seconds_left(deps.clock.now()) > 0:
            return None
    return no_code_reason(deps.settings.totp_timeout_s, sources, diary)
