"""One computer-use step: screenshot → model → pixel actions → effect reports, recorded with
the same events, artifacts and timeline as the DOM engines' steps.

The slice loop (cancel, max_steps, deadlines, the final screenshot, error codes) is the
agent's own (`engine.agent.runner`); only the step differs. Every call of the model's batch
is answered, also those skipped because the page changed under an earlier one.
"""

from __future__ import annotations

import hashlib
import json
from typing import Any, cast

from altostratus.domain import events as ev
from altostratus.domain.enums import ActionStatus, ArtifactType, Engine, RunStatus
from altostratus.domain.lifecycle import RunOutcome
from altostratus.domain.replay.targets import ObservedEffect, SelectorBundle
from altostratus.engine.agent import verification as vc
from altostratus.engine.agent.calls import obtain_code
from altostratus.engine.agent.context import RunContext, StepTotals
from altostratus.engine.agent.error_codes import user_error
from altostratus.engine.agent.extraction import ExtractionFailedError, extract
from altostratus.engine.agent.prompts import fence
from altostratus.engine.agent.recorder import Recorder
from altostratus.engine.agent.results import record_exchanges
from altostratus.engine.agent.secrets import PLACEHOLDER, UnknownSecretError, placeholder
from altostratus.engine.agent.sources import output_sources, shown_observed, shown_target
from altostratus.engine.agent.stall import NUDGE_TEXT, Escalation, action_signature, stop_reason
from altostratus.engine.agent.state import AgentState
from altostratus.engine.agent.step import finish_step
from altostratus.engine.cua.model import ActionResult, CuaModel, Decision, Feedback, Planned
from altostratus.engine.cua.png import png_size
from altostratus.engine.cua.task import PROCEED_TEXT, CuaTask
from altostratus.ports.computer import ComputerBrowser, PixelAction, PixelType
from altostratus.ports.llm import LLMError, LLMUsage

FINAL_EXTRACTION = "Extract the information the user's goal asks for, as the schema describes."
MAX_QUESTIONS = 2
# Stall signatures round coordinates to this grid: a model re-clicking "the same" spot.
STALL_GRID_PX = 16


def cua_task(ctx: RunContext, browser: ComputerBrowser) -> CuaTask:
    width, height = browser.viewport()
    described = ctx.secrets.describe()
    if ctx.verification_codes:
        # The code is got when the model types its placeholder, and typed without being shown.
        described = "\n".join(
            part
            for part in (
                described,
                f"When the page asks for a verification code (2FA), type {placeholder(vc.CODE_SECRET)}: "
                "it is replaced by the code when typed.",
            )
            if part
        )
    return CuaTask(
        goal=ctx.goal,
        start_url=ctx.start_url,
        secrets_description=described,
        error_codes=ctx.error_codes,
        width=width,
        height=height,
        model=cua_model_name(ctx),
        settings=ctx.deps.settings,
    )


def cua_model_name(ctx: RunContext) -> str:
    settings = ctx.deps.settings
    if ctx.requested_model:
        return ctx.requested_model
    return {
        Engine.OPENAI_CUA: settings.openai_cua_model,
        Engine.ANTHROPIC_CUA: settings.anthropic_cua_model,
        Engine.UI_TARS: settings.ui_tars_model,
    }[ctx.engine]


def model_for(ctx: RunContext, task: CuaTask) -> CuaModel:
    deps = ctx.deps
    if ctx.engine is Engine.OPENAI_CUA:
        from altostratus.engine.cua.openai_cua import OpenAIComputer

        if deps.responses is None:
            raise LLMError("openai-cua is not configured on this deployment (set ALTO_OPENAI_API_KEY)")
        return OpenAIComputer(deps.responses, task)
    if ctx.engine is Engine.UI_TARS:
        from altostratus.engine.cua.ui_tars import UiTars

        if deps.chat is None:
            raise LLMError("ui-tars is not configured on this deployment (set ALTO_UI_TARS_BASE_URL)")
        return UiTars(deps.chat, task)
    from altostratus.engine.cua.anthropic_cua import AnthropicComputer

    return AnthropicComputer(deps.llm, task)


async def run_cua_step(ctx: RunContext, state: AgentState, browser: ComputerBrowser) -> RunOutcome | None:
    """The next step of a computer-use run; the run's RunOutcome when it ended here, else None."""
    deps = ctx.deps
    started = deps.monotonic()
    step_id = state.next_step_id
    order = state.steps_taken + 1
    rec = Recorder(
        event_log=deps.event_log,
        artifacts=deps.artifacts,
        ids=deps.ids,
        run_id=ctx.run_id,
        org_id=ctx.org_id,
        step_id=step_id,
    )
    totals = StepTotals(usage=LLMUsage())
    url, title = await browser.location()
    url, title = ctx.secrets.redact(url), ctx.secrets.redact(title)
    rec.append(ev.StepStarted(step_id=step_id, order=order, url=url, goal=ctx.goal), "started")
    state.last_step_id = step_id
    try:
        outcome = await _decide_and_act(ctx, state, browser, rec, totals, url, title)
    except LLMError as exc:
        outcome = RunOutcome.failed(exc.reason)
    return finish_step(
        ctx, state, rec, totals, step_id=step_id, order=order, started=started, outcome=outcome
    )


async def _decide_and_act(
    ctx: RunContext,
    state: AgentState,
    browser: ComputerBrowser,
    rec: Recorder,
    totals: StepTotals,
    url: str,
    title: str,
) -> RunOutcome | None:
    settings = ctx.deps.settings
    task = cua_task(ctx, browser)
    png, ctx.screen = ctx.screen, None
    if png is None:
        png = await browser.screenshot()
    if png_size(png) != (task.width, task.height):
        return RunOutcome.failed(
            f"The screenshot is {png_size(png)[0]}x{png_size(png)[1]} px, not the {task.width}x{task.height} "
            "the model is told: the browser's display scale is not 1."
        )
    rec.artifact(ArtifactType.SCREENSHOT_LLM, png, "image/png")
    results = tuple(
        ActionResult.model_validate({**r, "summary": fence(r["summary"], ctx.tag)})
        for r in state.pending_results
    )
    feedback = Feedback(
        screenshot=png,
        url=url,
        location=fence(f"URL: {url}\nTitle: {title}", ctx.tag),
        results=results,
        notes=tuple(ctx.secrets.redact(n) for n in state.notes),
    )
    state.pending_results, state.notes = [], []
    model = model_for(ctx, task)
    decision = await model.decide(state.cua, feedback)
    totals.add(decision.usage, decision.latency_ms)
    if settings.store_llm_exchanges:
        for exchange in decision.exchanges:
            rec.json_artifact(ArtifactType.LLM_REQUEST, exchange.request)
            rec.json_artifact(ArtifactType.LLM_RESPONSE, exchange.response)
    reasoning = ctx.secrets.redact(decision.reasoning or "")[:4000] or None
    if reasoning:
        rec.thought(reasoning, thought_type="plan")
    refused = _safety(ctx, rec, decision)
    if refused is not None:
        # The model's calls stay unanswered: the run ends here.
        return refused
    outcome = await _act(ctx, state, browser, rec, decision, reasoning)
    if outcome is not None:
        return outcome
    return await _signal(ctx, state, browser, rec, totals, decision)


def _safety(ctx: RunContext, rec: Recorder, decision: Decision) -> RunOutcome | None:
    if not decision.safety_checks:
        return None
    refuse = ctx.deps.settings.cua_safety_checks != "acknowledge"
    for check in decision.safety_checks:
        what = f"Safety check {check.code or check.id}: {ctx.secrets.redact(check.message or 'no message')}"
        rec.thought(
            what + (" (refused)" if refuse else " (acknowledged)"),
            thought_type="termination" if refuse else "plan",
            answer="refused" if refuse else "acknowledged",
        )
    if not refuse:
        return None
    first = decision.safety_checks[0]
    message = ctx.secrets.redact(first.message or first.code or "a safety check")
    return RunOutcome(
        status=RunStatus.TERMINATED,
        reason=f"The model raised a safety check that this deployment does not acknowledge: {message}",
    )


def _shown(ctx: RunContext, planned: Planned) -> dict[str, Any]:
    """What the timeline shows of an action: the model's parameters and the viewport point."""
    shown = cast(dict[str, Any], ctx.secrets.redact_any(planned.params))
    if planned.action is not None:
        pixel = planned.action.model_dump(mode="json", exclude={"mask"})
        if isinstance(planned.action, PixelType):
            pixel["text"] = shown.get("text", pixel["text"])
            pixel["text"] = ctx.secrets.redact(str(pixel["text"]))
        shown["viewport"] = pixel
    return shown


async def _act(
    ctx: RunContext,
    state: AgentState,
    browser: ComputerBrowser,
    rec: Recorder,
    decision: Decision,
    reasoning: str | None,
) -> RunOutcome | None:
    results: list[ActionResult] = []
    outcome: RunOutcome | None = None
    skip: str | None = None
    executed: list[tuple[str, Any]] = []
    for order, planned in enumerate(decision.actions, start=1):
        shown = _shown(ctx, planned)
        text = shown.get("text") if isinstance(shown.get("text"), str) else None
        rec.stage(
            ev.ActionPlanned(
                step_id=rec.step_id,
                action_order=order,
                action_type=planned.action_type,
                tool=planned.name,
                reasoning=reasoning,
                text=text,
                params=shown,
            ),
            f"action:{order}:planned",
        )
        rec.flush()
        view = rec.last_view
        if outcome is None and view is not None and view.cancel_requested:
            outcome = RunOutcome.canceled()
        hit: str | None = None
        details: dict[str, Any] = {}
        target: SelectorBundle | None = None
        observed: ObservedEffect | None = None
        if outcome is not None or skip is not None:
            result = ActionResult(
                call_id=planned.call_id,
                ok=False,
                summary=f"Not executed: {skip or 'the run is ending'}.",
                skipped=True,
            )
            status = ActionStatus.SKIPPED
        elif planned.error is not None:
            result = ActionResult(call_id=planned.call_id, ok=False, summary=planned.error)
            status = ActionStatus.FAILED
        elif planned.browser_tool is not None:
            effect = await browser.execute(planned.browser_tool, planned.browser_params)
            target = shown_target(ctx.secrets, effect.target)
            observed = shown_observed(ctx.secrets, effect.observed)
            summary = ctx.secrets.redact(effect.summary)
            details = cast(dict[str, Any], ctx.secrets.redact_any(effect.details))
            result = ActionResult(call_id=planned.call_id, ok=effect.ok, summary=summary)
            status = ActionStatus.COMPLETED if effect.ok else ActionStatus.FAILED
            executed.append((planned.name, shown))
            if effect.page_changed:
                skip = "the page changed after an earlier action of this batch"
        elif planned.action is None:
            result = ActionResult(call_id=planned.call_id, ok=True, summary="Took a screenshot.")
            status = ActionStatus.COMPLETED
        else:
            action: PixelAction | None = planned.action
            if isinstance(action, PixelType) and PLACEHOLDER.search(action.text):
                if placeholder(vc.CODE_SECRET) in action.text and ctx.secrets.value(vc.CODE_SECRET) is None:
                    code, reason = await obtain_code(ctx, view or ctx.last_view)
                    if code is None:
                        outcome = outcome or RunOutcome.failed(reason)
                    else:
                        ctx.keep_code(code)
                try:
                    action = PixelType(text=ctx.secrets.resolve(action.text), mask=True)
                except UnknownSecretError as exc:
                    known = ", ".join(ctx.secrets.names) or "none"
                    action = None
                    result = ActionResult(
                        call_id=planned.call_id,
                        ok=False,
                        summary=f"There is no secret named {exc.args[0]!r} (available: {known}).",
                    )
                    status = ActionStatus.FAILED
            if action is not None:
                done = await browser.pixels(action)
                effect = done.effect
                # The element the point landed on (typing: the focused one), found again by a replay.
                target = shown_target(ctx.secrets, done.target)
                observed = shown_observed(ctx.secrets, effect.observed)
                hit = ctx.secrets.redact(done.hit) if done.hit else None
                summary = ctx.secrets.redact(
                    effect.summary if effect.error is None else f"{effect.summary} Error: {effect.error}"
                )
                if hit:
                    summary = f"{summary} (at {hit})"
                details = cast(dict[str, Any], ctx.secrets.redact_any(effect.details))
                result = ActionResult(call_id=planned.call_id, ok=effect.ok, summary=summary, hit=hit)
                status = ActionStatus.COMPLETED if effect.ok else ActionStatus.FAILED
                executed.append((planned.name, _grid(shown)))
                if effect.page_changed:
                    skip = "the page changed after an earlier action of this batch"
        if hit:
            details["target"] = hit
        rec.stage(
            ev.ActionExecuted(
                step_id=rec.step_id,
                action_order=order,
                status=status,
                summary=result.summary[:4000],
                effect=details,
                error=None if result.ok or result.skipped else result.summary[:1000],
                target=target,
                observed=observed,
            ),
            f"action:{order}:executed",
        )
        if status is not ActionStatus.SKIPPED:
            state.history.append(
                f"step {state.steps_taken + 1}: {planned.name} "
                f"{json.dumps(shown, default=str)[:200]} -> {result.summary[:300]}"
            )
        results.append(result)
    state.pending_results = [r.model_dump(mode="json") for r in results]
    if outcome is not None:
        return outcome
    if executed:
        png = await browser.screenshot()
        rec.artifact(ArtifactType.SCREENSHOT_ACTION, png, "image/png")
        ctx.screen = png
        for download in await browser.new_downloads():
            rec.download(download)
        return _stall(ctx, state, executed, png)
    return None


def _grid(shown: dict[str, Any]) -> dict[str, Any]:
    pixel = dict(shown.get("viewport") or {})
    for key in ("x", "y"):
        if isinstance(pixel.get(key), int | float):
            pixel[key] = round(float(pixel[key]) / STALL_GRID_PX)
    return {"name": pixel}


def _stall(
    ctx: RunContext, state: AgentState, executed: list[tuple[str, Any]], png: bytes
) -> RunOutcome | None:
    settings = ctx.deps.settings
    memory = state.stall
    level = memory.record(
        signature=action_signature(executed),
        page_fingerprint=hashlib.sha256(png).hexdigest()[:16],
        description=", ".join(name for name, _ in executed)[:300],
        nudge_at=settings.stall_nudge_at,
        replan_at=settings.stall_replan_at,
        stop_at=settings.stall_stop_at,
    )
    if level is Escalation.STOP:
        return RunOutcome.failed(stop_reason(memory))
    if level >= Escalation.NUDGE:
        state.notes.append(NUDGE_TEXT.format(what=memory.last_description))
    return None


async def _signal(
    ctx: RunContext,
    state: AgentState,
    browser: ComputerBrowser,
    rec: Recorder,
    totals: StepTotals,
    decision: Decision,
) -> RunOutcome | None:
    settings = ctx.deps.settings
    if decision.terminate is not None:
        reason = ctx.secrets.redact(decision.terminate)
        code = decision.error_code
        rec.thought(reason, thought_type="termination", answer=code)
        errors = (user_error(code, reason, 1.0),) if code else ()
        return RunOutcome(
            status=RunStatus.TERMINATED, reason=f"The agent terminated the run: {reason}", errors=errors
        )
    if decision.question is not None and not decision.actions:
        state.turns_without_action += 1
        if state.turns_without_action > MAX_QUESTIONS:
            question = ctx.secrets.redact(decision.question)
            return RunOutcome(
                status=RunStatus.TERMINATED,
                reason=f"The model kept asking instead of acting: {question[:500]}",
            )
        state.notes.append(PROCEED_TEXT)
        return None
    if decision.done is not None:
        return await _complete(ctx, browser, rec, totals, ctx.secrets.redact(decision.done))
    if not decision.actions:
        state.turns_without_action += 1
        if state.turns_without_action >= settings.max_turns_without_action:
            return RunOutcome.failed(
                f"The model answered {state.turns_without_action} turns in a row without choosing an action."
            )
        state.notes.append("You did not act. Continue with an action, or say that the goal is achieved.")
        return None
    state.turns_without_action = 0
    return None


async def _complete(
    ctx: RunContext, browser: ComputerBrowser, rec: Recorder, totals: StepTotals, answer: str
) -> RunOutcome:
    output: Any = answer
    if ctx.schema is not None:
        # The run's output comes from the page, validated against the user's schema (one
        # repair round), not from the model's last message.
        markdown = ctx.secrets.redact(await browser.markdown())
        url, _title = await browser.location()
        try:
            result = await extract(
                ctx.deps.llm,
                model=ctx.deps.settings.main_model,
                markdown=markdown,
                url=ctx.secrets.redact(url),
                instruction=FINAL_EXTRACTION,
                schema=ctx.schema,
                tag=ctx.tag,
                max_chars=ctx.deps.settings.max_extraction_chars,
            )
        except ExtractionFailedError as exc:
            totals.add(exc.usage, 0.0)
            return RunOutcome.failed(exc.reason)
        totals.add(result.usage, sum(r.latency_ms for _, r in result.exchanges))
        record_exchanges(ctx, rec, result.exchanges)
        output = result.data
    rec.stage(
        ev.CompletionChecked(step_id=rec.step_id, accepted=True, evidence=answer[:1000] or "done"),
        "completion",
    )
    sources = await output_sources(browser, ctx.secrets, output)
    rec.stage(ev.OutputProduced(output=output, step_id=rec.step_id, sources=sources), "output")
    return RunOutcome.completed(output)
