"""Running the model's tool calls of one turn: validation, dispatch, batch guards, recording."""

from __future__ import annotations

import json
import logging
from typing import Any

from altostratus.domain import events as ev
from altostratus.domain.enums import ActionStatus, ActionType, ArtifactType, RunStatus
from altostratus.domain.lifecycle import RunOutcome
from altostratus.domain.replay.targets import ObservedEffect, SelectorBundle
from altostratus.domain.view import RunView
from altostratus.engine.agent import checklist as cl
from altostratus.engine.agent import tools as t
from altostratus.engine.agent import vault
from altostratus.engine.agent import verification as vc
from altostratus.engine.agent.completion import complete
from altostratus.engine.agent.context import RunContext, StepTotals
from altostratus.engine.agent.error_codes import user_error
from altostratus.engine.agent.extraction import ExtractionFailedError, cache_key, extract
from altostratus.engine.agent.prompts import fence
from altostratus.engine.agent.recorder import Recorder
from altostratus.engine.agent.results import CallResult, image_block, record_exchanges
from altostratus.engine.agent.secrets import UnknownSecretError
from altostratus.engine.agent.sources import shown_observed, shown_target
from altostratus.engine.agent.stall import NUDGE_TEXT, REPLAN_TEXT, Escalation, action_signature, stop_reason
from altostratus.engine.agent.state import AgentState
from altostratus.ports.browser import AgentBrowser, Observation
from altostratus.ports.llm import LLMResponse, ToolCall

MAX_FIND_LINES = 25
log = logging.getLogger(__name__)


def _short(params: Any) -> str:
    text = json.dumps(params, ensure_ascii=False, default=str)
    return text if len(text) <= 200 else text[:197] + "..."


def _action_type(ctx: RunContext, browser: AgentBrowser, name: str) -> ActionType:
    if name in ctx.toolset.browser_tools:
        try:
            return ActionType(browser.action_type_of(name))
        except ValueError:
            return ActionType.NULL_ACTION
    return t.AGENT_ACTION_TYPES.get(name, ActionType.NULL_ACTION)


def _element_of(params: dict[str, Any]) -> str | None:
    value = params.get("element", params.get("element_id"))
    return str(value) if value is not None else None


def code_sources(ctx: RunContext) -> vc.CodeSources | None:
    """Where this run's one-time codes come from; None when it has no way to get one."""
    deps = ctx.deps
    pull = finder = None
    if ctx.totp_url and deps.code_endpoint is not None and deps.keys is not None:
        pull = vc.CodePull(deps.code_endpoint, deps.keys, deps.ids, deps.clock)
    if ctx.totp_identifier and deps.otp_codes is not None and deps.secret_box is not None:
        finder = vc.CodeFinder(deps.otp_codes, deps.secret_box, deps.clock)
    if pull is None and finder is None:
        return None
    return vc.CodeSources(pull=pull, url=ctx.totp_url, finder=finder, identifier=ctx.totp_identifier)


async def wait_for_code(ctx: RunContext, sources: vc.CodeSources, view: RunView) -> tuple[str | None, str]:
    """The run's code, or None and the failure reason (which lists what its totp_url said)."""
    settings = ctx.deps.settings
    diary = vc.PullDiary({})
    wait = vc.CodeWait(poll_s=settings.totp_poll_s, timeout_s=settings.totp_timeout_s)
    code = await sources.wait(view, wait, diary)
    if code is not None:
        return code, ""
    within = f"within {settings.totp_timeout_s:g} seconds"
    reasons = []
    if sources.pull is not None:
        said = diary.describe() or "nothing"
        reasons.append(f"No verification code came from the run's totp_url {within}; it answered: {said}.")
    if sources.finder is not None:
        reasons.append(
            f"No verification code was pushed for the run's totp_identifier {within} (codes scoped to "
            "other runs, expired or already used are not typed)."
        )
    return None, " ".join(reasons)


async def obtain_code(ctx: RunContext, view: RunView | None) -> tuple[str | None, str]:
    """The run's one-time code, made from its saved authenticator or waited for (pushed for its
    identifier, answered by its totp_url); or None and the reason."""
    if ctx.authenticator:
        log.debug(
            "run %s: a code made from its saved authenticator secret",
            ctx.run_id,
            extra={"run_id": ctx.run_id, "code_source": "authenticator"},
        )
        return vault.authenticator_code(ctx.authenticator, ctx.deps.clock.now()), ""
    sources = code_sources(ctx)
    if sources is None or view is None:
        return None, "This run has no way to obtain verification codes."
    return await wait_for_code(ctx, sources, view)


class TurnRunner:
    """Executes the tool calls of one assistant turn."""

    def __init__(
        self,
        ctx: RunContext,
        state: AgentState,
        browser: AgentBrowser,
        rec: Recorder,
        observation: Observation,
        totals: StepTotals,
    ) -> None:
        self.ctx = ctx
        self.state = state
        self.browser = browser
        self.rec = rec
        self.obs = observation
        self.totals = totals
        self.step_order = state.steps_taken + 1

    async def run(self, response: LLMResponse) -> RunOutcome | None:
        settings = self.ctx.deps.settings
        calls = response.tool_calls
        if not calls:
            self.state.turns_without_action += 1
            if self.state.turns_without_action >= settings.max_turns_without_action:
                return RunOutcome.failed(
                    f"The model answered {self.state.turns_without_action} turns in a row without choosing "
                    "an action."
                )
            self.state.notes.append(
                "You did not call a tool. Continue by calling tools, or `done`/`terminate`."
            )
            return None
        self.state.turns_without_action = 0
        reasoning = self.ctx.secrets.redact(response.text)[:4000] or None
        results: list[dict[str, Any]] = []
        outcome: RunOutcome | None = None
        skip_reason: str | None = None
        executed: list[tuple[str, Any]] = []
        for order, call in enumerate(calls, start=1):
            params = call.input if isinstance(call.input, dict) else {}
            self._planned(order, call, params, reasoning)
            # One write per action: what is staged (the previous action's result, this one's
            # plan, the step's artifacts) goes out now, and the view it returns shows a cancel
            # asked for since the last write, so nothing more runs after it.
            self.rec.flush()
            view = self.rec.last_view
            if outcome is None and skip_reason is None and view is not None and view.cancel_requested:
                outcome = RunOutcome.canceled()
            if outcome is not None or (skip_reason is not None and call.name != t.UPDATE_CHECKLIST):
                why = skip_reason or "the run is ending"
                result = CallResult(f"Not run: {why}.", status=ActionStatus.SKIPPED)
            else:
                problem = self.ctx.toolset.check(call.name, call.input)
                if problem is not None:
                    result = CallResult(problem.message, ok=False)
                else:
                    result = await self._dispatch(call, params)
                    executed.append((call.name, params))
                if result.page_changed:
                    skip_reason = (
                        "the page changed after an earlier action in this batch; look at the new page first"
                    )
                if result.outcome is not None:
                    outcome = result.outcome
            self._executed(order, call, params, result)
            results.append(result.tool_result(call.id))
        self.state.pending_results = results
        if outcome is None:
            outcome = self._check_stall(executed)
        return outcome

    # -- recording --

    def _planned(self, order: int, call: ToolCall, params: dict[str, Any], reasoning: str | None) -> None:
        shown = self.ctx.secrets.redact_any(params)
        option = shown.get("option") if isinstance(shown.get("option"), str) else None
        text = shown.get("text") if isinstance(shown.get("text"), str) else None
        self.rec.stage(
            ev.ActionPlanned(
                step_id=self.rec.step_id,
                action_order=order,
                action_type=_action_type(self.ctx, self.browser, call.name),
                tool=call.name,
                reasoning=reasoning,
                intention=shown.get("intention") if isinstance(shown.get("intention"), str) else None,
                element_id=_element_of(shown),
                text=text,
                option=option,
                params=shown,
            ),
            f"action:{order}:planned",
        )

    def _executed(self, order: int, call: ToolCall, params: dict[str, Any], result: CallResult) -> None:
        status = result.status or (ActionStatus.COMPLETED if result.ok else ActionStatus.FAILED)
        summary = self.ctx.secrets.redact(result.summary)
        # Written with the next action's plan, or with the step's end.
        self.rec.stage(
            ev.ActionExecuted(
                step_id=self.rec.step_id,
                action_order=order,
                status=status,
                summary=summary[:4000],
                effect=self.ctx.secrets.redact_any(result.details),
                error=None if result.ok else summary[:1000],
                target=result.target,
                observed=result.observed,
            ),
            f"action:{order}:executed",
        )
        if status is not ActionStatus.SKIPPED:
            shown = self.ctx.secrets.redact(_short(params))
            self.state.history.append(f"step {self.step_order}: {call.name} {shown} -> {summary[:300]}")

    # -- dispatch --

    async def _dispatch(self, call: ToolCall, params: dict[str, Any]) -> CallResult:
        name = call.name
        if name in self.ctx.toolset.browser_tools:
            return await self._browser_action(name, params)
        if name == t.EXTRACT:
            return await self._extract(params)
        if name == t.FIND:
            return await self._find(params)
        if name == t.SCREENSHOT:
            png = await self.browser.screenshot()
            self.rec.artifact(ArtifactType.SCREENSHOT_LLM, png, "image/png")
            return CallResult("Screenshot of the current viewport:", extra_blocks=[image_block(png)])
        if name == t.UPDATE_CHECKLIST:
            return self._update_checklist(params)
        if name == t.TERMINATE:
            return self._terminate(params)
        if name == t.DONE:
            return await complete(self, params)
        if name == vc.REQUEST_CODE:
            return await self._request_code()
        if name == vc.ENTER_CODE:
            return await self._enter_code(params)
        return CallResult(f"The tool {name} is not available.", ok=False)

    async def _browser_action(self, name: str, params: dict[str, Any]) -> CallResult:
        try:
            resolved = self.ctx.secrets.resolve(params)
        except UnknownSecretError as exc:
            known = ", ".join(self.ctx.secrets.names) or "none"
            return CallResult(f"There is no secret named {exc.args[0]!r} (available: {known}).", ok=False)
        effect = await self.browser.execute(name, resolved)
        if not effect.ok or effect.no_effect:
            self.state.want_screenshot = True
        summary = effect.summary if effect.error is None else f"{effect.summary} Error: {effect.error}"
        return CallResult(
            self.ctx.secrets.redact(summary),
            ok=effect.ok,
            details=self.ctx.secrets.redact_any(effect.details),
            page_changed=effect.page_changed,
            target=shown_target(self.ctx.secrets, effect.target),
            observed=shown_observed(self.ctx.secrets, effect.observed),
        )

    async def _extract(self, params: dict[str, Any]) -> CallResult:
        markdown = self.ctx.secrets.redact(await self.browser.markdown())
        try:
            data = await self.extract_data(markdown, str(params["instruction"]), schema=None)
        except ExtractionFailedError as exc:
            return CallResult(exc.reason, ok=False)
        return CallResult(
            "Extracted:\n" + json.dumps(data, ensure_ascii=False, indent=1), details={"data": data}
        )

    async def extract_data(self, markdown: str, instruction: str, *, schema: Any) -> Any:
        """Extraction on this page, cached by (page, schema, instruction, model) within the run."""
        ctx = self.ctx
        key = cache_key(markdown=markdown, schema=schema, instruction=instruction, model=ctx.model)
        if key in self.state.extraction_cache:
            return self.state.extraction_cache[key]
        try:
            result = await extract(
                ctx.deps.llm,
                model=ctx.model,
                markdown=markdown,
                url=self.obs.url,
                instruction=instruction,
                schema=schema,
                tag=ctx.tag,
                max_chars=ctx.deps.settings.max_extraction_chars,
            )
        except ExtractionFailedError as exc:
            self.totals.add(exc.usage, 0.0)
            raise
        self.totals.add(result.usage, sum(r.latency_ms for _, r in result.exchanges))
        record_exchanges(ctx, self.rec, result.exchanges)
        self.state.extraction_cache[key] = result.data
        return result.data

    async def _find(self, params: dict[str, Any]) -> CallResult:
        needle = str(params["text"]).strip().lower()
        markdown = self.ctx.secrets.redact(await self.browser.markdown())
        snapshot = self.ctx.secrets.redact(self.obs.full_text or self.obs.text)
        hits = [line.strip() for line in snapshot.splitlines() if needle in line.lower()][:MAX_FIND_LINES]
        text_hits = [line.strip() for line in markdown.splitlines() if needle in line.lower()][
            :MAX_FIND_LINES
        ]
        if not hits and not text_hits:
            return CallResult(f"{params['text']!r} does not appear on this page.")
        body = (
            "Elements:\n" + ("\n".join(hits) or "(none)") + "\nText:\n" + ("\n".join(text_hits) or "(none)")
        )
        return CallResult(f"Matches for {params['text']!r}:\n" + fence(body, self.ctx.tag))

    async def _request_code(self) -> CallResult:
        ctx = self.ctx
        code, reason = await obtain_code(ctx, self.rec.last_view or ctx.last_view)
        if code is None:
            if not ctx.verification_codes:
                return CallResult(reason, ok=False)
            return CallResult("No verification code arrived.", ok=False, outcome=RunOutcome.failed(reason))
        ctx.keep_code(code)
        return CallResult(
            f"A verification code of {len(code)} characters was obtained (it is not shown to you). "
            f"Call {vc.ENTER_CODE} with the box to type it into, or one box per character."
        )

    async def _enter_code(self, params: dict[str, Any]) -> CallResult:
        code = self.ctx.secrets.value(vc.CODE_SECRET)
        if code is None:
            return CallResult(f"There is no verification code yet: call {vc.REQUEST_CODE} first.", ok=False)
        boxes = [str(e) for e in params["element_ids"]]
        if len(boxes) == 1:
            parts = [code]
        elif len(boxes) == len(code):
            parts = list(code)
        else:
            return CallResult(
                f"The code has {len(code)} characters: give one box, or exactly {len(code)} boxes.", ok=False
            )
        page_changed = False
        targets: list[SelectorBundle | None] = []
        observed: ObservedEffect | None = None
        for box, part in zip(boxes, parts, strict=True):
            effect = await self.browser.execute("type", {"element": box, "text": part})
            page_changed = page_changed or effect.page_changed
            if not effect.ok:
                summary = self.ctx.secrets.redact(f"{effect.summary} {effect.error or ''}".strip())
                return CallResult(f"Typing the code into {box} failed: {summary}", ok=False)
            targets.append(shown_target(self.ctx.secrets, effect.target))
            observed = shown_observed(self.ctx.secrets, effect.observed)
        where = boxes[0] if len(boxes) == 1 else f"{len(boxes)} boxes"
        known = [t for t in targets if t is not None]
        if observed is not None and len(known) == len(targets):
            # The code itself is never recorded: only where it went, and the effect.
            observed = observed.model_copy(update={"value": None, "more_targets": tuple(known[1:])})
        return CallResult(
            f"Typed the verification code into {where}.",
            page_changed=page_changed,
            target=known[0] if known and len(known) == len(targets) else None,
            observed=observed,
        )

    def _update_checklist(self, params: dict[str, Any]) -> CallResult:
        items = cl.parse_items(params)
        self.state.checklist = items
        thought = str(params.get("thought") or "Checklist updated.")
        self.rec.thought(
            thought, thought_type="plan", checklist=tuple(i.model_dump(mode="json") for i in items)
        )
        open_count = len(cl.open_items(items))
        return CallResult(f"Checklist saved: {open_count} of {len(items)} sub-goals open.")

    def _terminate(self, params: dict[str, Any]) -> CallResult:
        reason = self.ctx.secrets.redact(str(params["reason"]))
        code = params.get("error_code")
        errors = (user_error(str(code), reason, 1.0),) if code else ()
        self.rec.thought(reason, thought_type="termination", answer=str(code) if code else None)
        outcome = RunOutcome(
            status=RunStatus.TERMINATED, reason=f"The agent terminated the run: {reason}", errors=errors
        )
        return CallResult("Terminating the run.", outcome=outcome)

    # -- loops --

    def _check_stall(self, executed: list[tuple[str, Any]]) -> RunOutcome | None:
        acting = [(n, p) for n, p in executed if n not in (t.UPDATE_CHECKLIST, t.DONE)]
        if not acting:
            return None
        settings = self.ctx.deps.settings
        memory = self.state.stall
        level = memory.record(
            signature=action_signature(acting),
            page_fingerprint=self.obs.fingerprint,
            description=self.ctx.secrets.redact(", ".join(f"{n} {_short(p)}" for n, p in acting))[:300],
            nudge_at=settings.stall_nudge_at,
            replan_at=settings.stall_replan_at,
            stop_at=settings.stall_stop_at,
        )
        what = memory.last_description
        if level is Escalation.STOP:
            return RunOutcome.failed(stop_reason(memory))
        if level is Escalation.REPLAN:
            self.state.notes.append(REPLAN_TEXT.format(what=what, times=memory.repeats))
            if self.ctx.checklist_enabled:
                self.state.force_tool = t.UPDATE_CHECKLIST
        elif level is Escalation.NUDGE:
            self.state.notes.append(NUDGE_TEXT.format(what=what))
        return None
