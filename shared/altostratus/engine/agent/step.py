"""One agent step: observe the page, ask the model, run its tool calls, record it all."""

from __future__ import annotations

import asyncio

from altostratus.domain import events as ev
from altostratus.domain.enums import ArtifactType, RunStatus, StepStatus
from altostratus.domain.lifecycle import RunOutcome
from altostratus.engine.agent.calls import TurnRunner
from altostratus.engine.agent.checklist import SubgoalStatus
from altostratus.engine.agent.context import RunContext, StepTotals
from altostratus.engine.agent.prompts import observation_text
from altostratus.engine.agent.recorder import Recorder
from altostratus.engine.agent.results import image_block
from altostratus.engine.agent.settings import ScreenshotsInPrompt
from altostratus.engine.agent.state import AgentState
from altostratus.ports.browser import AgentBrowser, Observation
from altostratus.ports.llm import LLMError, LLMRequest, LLMUsage


def _show_screenshot(
    ctx: RunContext, state: AgentState, observation: Observation, *, new_page: bool, first_view: bool
) -> bool:
    mode = ctx.deps.settings.screenshots_in_prompt
    if mode is ScreenshotsInPrompt.EVERY_STEP:
        return True
    if mode is ScreenshotsInPrompt.ON_REQUEST:
        return False
    # Almost nothing to act on and little text: probably a drawn page (canvas, images).
    sparse = observation.element_count <= ctx.deps.settings.few_elements and observation.text.count("\n") < 8
    if state.want_screenshot or (new_page and sparse):
        return True
    return mode is ScreenshotsInPrompt.NEW_PAGES and new_page and first_view


def _current_goal(ctx: RunContext, state: AgentState) -> str:
    for item in state.checklist or []:
        if item.status is not SubgoalStatus.DONE:
            return item.subgoal
    return ctx.goal


def llm_usage(usage: LLMUsage) -> ev.Usage:
    return ev.Usage(
        input_tokens=usage.input_tokens,
        cached_input_tokens=usage.cache_read_tokens,
        cache_write_tokens=usage.cache_write_tokens,
        output_tokens=usage.output_tokens,
        cost_usd=usage.cost_usd,
        llm_calls=usage.calls,
    )


def finish_step(
    ctx: RunContext,
    state: AgentState,
    rec: Recorder,
    totals: StepTotals,
    *,
    step_id: str,
    order: int,
    started: float,
    outcome: RunOutcome | None,
) -> RunOutcome | None:
    """StepFinished for the step (failed when the run failed in it), and the state moved on to
    the next step; the same for every engine."""
    status, failure = StepStatus.COMPLETED, None
    if outcome is not None and outcome.status is RunStatus.FAILED:
        status, failure = StepStatus.FAILED, outcome.reason
    elapsed_ms = (ctx.deps.monotonic() - started) * 1000
    rec.append(
        ev.StepFinished(
            step_id=step_id,
            status=status,
            usage=llm_usage(totals.usage),
            failure_reason=failure,
            duration_ms=round(elapsed_ms),
            overhead_ms=round(max(0.0, elapsed_ms - totals.llm_ms)),
        ),
        "finished",
    )
    state.steps_taken = order
    state.next_step_id = ctx.deps.ids.new("stp")
    ctx.last_view = rec.last_view
    return outcome


async def run_step(ctx: RunContext, state: AgentState, browser: AgentBrowser) -> RunOutcome | None:
    """Run the next step; the run's RunOutcome when it ended in this step, else None.

    Raises RunEndedElsewhereError when the log refuses the step's events (the run ended)."""
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
    prefetched, ctx.prefetched = ctx.prefetched, None
    shot: bytes | None = None
    if prefetched is not None and not state.need_full_snapshot:
        observation, html, shot = prefetched
    else:
        observation = await browser.observe(full=state.need_full_snapshot or not deps.settings.snapshot_diffs)
        html = None
    observation = observation.redacted(ctx.secrets.redact)
    rec.append(
        ev.StepStarted(step_id=step_id, order=order, url=observation.url, goal=_current_goal(ctx, state)),
        "started",
    )
    state.last_step_id = step_id
    try:
        outcome = await _decide_and_act(ctx, state, browser, rec, observation, html, shot, totals)
    except LLMError as exc:
        outcome = RunOutcome.failed(exc.reason)
    return finish_step(
        ctx, state, rec, totals, step_id=step_id, order=order, started=started, outcome=outcome
    )


async def _decide_and_act(
    ctx: RunContext,
    state: AgentState,
    browser: AgentBrowser,
    rec: Recorder,
    observation: Observation,
    html: str | None,
    shot: bytes | None,
    totals: StepTotals,
) -> RunOutcome | None:
    settings = ctx.deps.settings
    new_page = not observation.is_diff
    first_view = observation.url != state.last_url
    state.last_url = observation.url
    state.need_full_snapshot = False

    blocks = list(state.pending_results)
    blocks += [{"type": "text", "text": note} for note in state.notes]
    body = ctx.secrets.redact(observation.text)
    text = observation_text(
        step=state.steps_taken + 1,
        url=observation.url,
        title=observation.title,
        body=body,
        is_diff=observation.is_diff,
        tabs=observation.tabs,
        tag=ctx.tag,
        checklist=state.checklist if ctx.checklist_enabled else None,
    )
    blocks.append({"type": "text", "text": text})
    if _show_screenshot(ctx, state, observation, new_page=new_page, first_view=first_view):
        # The viewport as it was when the observation was read, if it was taken then.
        png = shot if shot is not None else await browser.screenshot()
        rec.artifact(ArtifactType.SCREENSHOT_LLM, png, "image/png")
        blocks.append(image_block(png))
    state.want_screenshot = False
    tree = ctx.secrets.redact(observation.full_text or observation.text)
    rec.artifact(ArtifactType.VISIBLE_ELEMENTS_TREE_IN_PROMPT, tree.encode(), "text/plain")
    # The page's HTML is only stored, once per new document: read while the model thinks (or
    # already read together with the observation).
    html_read: asyncio.Future[str] | None = None
    if settings.store_html_scrape and new_page:
        html_read = _done(html) if html is not None else asyncio.ensure_future(browser.html())

    conversation = state.conversation
    conversation.add_user(blocks)
    state.pending_results, state.notes = [], []
    if new_page:
        conversation.elide_observations(min_chars=settings.elide_superseded_after_chars)
    conversation.limit_images(1, over=settings.max_images_in_conversation)
    forced = {"type": "tool", "name": state.force_tool} if state.force_tool else None
    state.force_tool = None
    request = LLMRequest(
        model=ctx.model,
        system=ctx.system,
        messages=conversation.for_request(caching=settings.prompt_caching),
        tools=ctx.tools,
        tool_choice=forced,
        max_tokens=settings.max_output_tokens,
        purpose="agent",
    )
    if settings.store_llm_exchanges:
        rec.json_artifact(ArtifactType.LLM_REQUEST, request.wire())
    try:
        response = await ctx.deps.llm.complete(request)
    finally:
        if html_read is not None:
            html = ctx.secrets.redact(await html_read)
            rec.artifact(ArtifactType.HTML_SCRAPE, html.encode(), "text/html")
    totals.add(response.usage, response.latency_ms)
    if settings.store_llm_exchanges:
        rec.json_artifact(ArtifactType.LLM_RESPONSE, response.model_dump(mode="json"))
    conversation.add_assistant(response.as_message())
    turn = TurnRunner(ctx, state, browser, rec, observation, totals)
    outcome = await turn.run(response)
    if any(c.name in ctx.toolset.browser_tools for c in response.tool_calls) and outcome is None:
        # The screenshot of the batch's result and the next step's observation (and page HTML)
        # are read concurrently: the page is the same for all three.
        png, (next_observation, next_html) = await asyncio.gather(
            browser.screenshot(scrolls=ctx.screenshot_scrolls), _observe_next(ctx, browser)
        )
        rec.artifact(ArtifactType.SCREENSHOT_ACTION, png, "image/png")
        # A viewport screenshot shows the page the next observation read; a full-page one does not
        # stand for the viewport.
        ctx.prefetched = (next_observation, next_html, png if ctx.screenshot_scrolls <= 0 else None)
    for download in await browser.new_downloads():
        rec.download(download)
    return outcome


async def _observe_next(ctx: RunContext, browser: AgentBrowser) -> tuple[Observation, str | None]:
    settings = ctx.deps.settings
    if not settings.store_html_scrape:
        return await browser.observe(full=not settings.snapshot_diffs), None
    # The HTML is kept only for a new document, so it is read only when the observation says
    # this is one: reading it costs the page's main thread time the screenshot beside this
    # read is waiting for.
    observation = await browser.observe(full=not settings.snapshot_diffs)
    return observation, None if observation.is_diff else await browser.html()


def _done(value: str) -> asyncio.Future[str]:
    future: asyncio.Future[str] = asyncio.get_running_loop().create_future()
    future.set_result(value)
    return future
