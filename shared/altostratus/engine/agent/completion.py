"""`done`: verify the claim on a fresh page state (at most twice rejected), then produce the output."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from altostratus.domain import events as ev
from altostratus.domain.enums import ArtifactType
from altostratus.domain.lifecycle import RunOutcome
from altostratus.engine.agent.checklist import render
from altostratus.engine.agent.extraction import ExtractionFailedError
from altostratus.engine.agent.results import CallResult, record_exchanges
from altostratus.engine.agent.sources import output_sources
from altostratus.engine.agent.verifier import verify

if TYPE_CHECKING:
    from altostratus.engine.agent.calls import TurnRunner

VERIFIER_PAGE_CHARS = 8_000
FINAL_EXTRACTION = "Extract the information the user's goal asks for, as the schema describes."


async def complete(turn: TurnRunner, params: dict[str, Any]) -> CallResult:
    ctx, state, rec = turn.ctx, turn.state, turn.rec
    settings = ctx.deps.settings
    claim = ctx.secrets.redact(str(params["summary"]))
    answer = ctx.secrets.redact_any(params.get("answer"))
    if state.verifier_rejections < settings.max_verifier_rejections:
        # The viewport's snapshot plus the page's text: a whole-page snapshot of the browser
        # layer omits text lines (reported), and the verifier must see values like totals.
        observation = (await turn.browser.observe(full=True)).redacted(ctx.secrets.redact)
        markdown = ctx.secrets.redact(await turn.browser.markdown())
        # The browser's diff baseline moved to this snapshot; the model gets a full one next.
        state.need_full_snapshot = True
        png = await turn.browser.screenshot()
        rec.artifact(ArtifactType.SCREENSHOT_LLM, png, "image/png")
        history = (
            state.history
            if ctx.verify_with_full_history
            else state.history[-settings.verifier_recent_actions :]
        )
        verdict = await verify(
            ctx.deps.llm,
            model=ctx.deps.settings.cheap_model,
            goal=ctx.goal,
            claim=claim,
            answer=answer,
            checklist=render(state.checklist) if state.checklist is not None else None,
            history=history,
            url=observation.url,
            page_text=ctx.secrets.redact(observation.full_text or observation.text)
            + "\n\nThe page's text:\n"
            + markdown[:VERIFIER_PAGE_CHARS],
            screenshot_png=png,
            tag=ctx.tag,
        )
        turn.totals.add(verdict.usage, verdict.exchange[1].latency_ms)
        record_exchanges(ctx, rec, [verdict.exchange])
        rec.stage(
            ev.CompletionChecked(
                step_id=rec.step_id,
                accepted=verdict.complete,
                missing=verdict.missing,
                evidence=verdict.evidence,
            ),
            "completion",
        )
        missing = "; ".join(verdict.missing) or "not specified"
        rec.thought(
            f"Checked whether the goal is achieved: {'yes' if verdict.complete else 'no'}.",
            thought_type="user_goal_check",
            observation=verdict.evidence,
            answer="complete" if verdict.complete else f"incomplete; missing: {missing}",
        )
        if not verdict.complete:
            state.verifier_rejections += 1
            return CallResult(
                "`done` was not accepted: an independent check of the page found the goal not yet achieved. "
                f"Missing: {missing}. Evidence: {verdict.evidence}. Continue with what is missing.",
                ok=False,
            )
    else:
        rec.stage(
            ev.CompletionChecked(
                step_id=rec.step_id,
                accepted=True,
                evidence=f"accepted without a further check after {state.verifier_rejections} rejections",
            ),
            "completion",
        )
    output = answer
    if ctx.schema is not None:
        markdown = ctx.secrets.redact(await turn.browser.markdown())
        try:
            output = await turn.extract_data(markdown, FINAL_EXTRACTION, schema=ctx.schema)
        except ExtractionFailedError as exc:
            return CallResult(exc.reason, ok=False, outcome=RunOutcome.failed(exc.reason))
    sources = await output_sources(turn.browser, ctx.secrets, output)
    rec.stage(ev.OutputProduced(output=output, step_id=rec.step_id, sources=sources), "output")
    return CallResult("Accepted: the goal is achieved.", outcome=RunOutcome.completed(output))
