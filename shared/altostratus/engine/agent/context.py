"""Everything a run's steps share, derived once per slice from the run view and the deps."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from altostratus.domain.enums import Engine
from altostratus.domain.redaction import redact_url
from altostratus.domain.view import RunView
from altostratus.domain.workflows import fallback_note
from altostratus.engine.agent.deps import AgentDeps
from altostratus.engine.agent.prompts import fence_tag, system_blocks, task_block
from altostratus.engine.agent.secrets import Secrets
from altostratus.engine.agent.tools import Toolset, build_toolset
from altostratus.engine.agent.verification import CODE_SECRET
from altostratus.ports.browser import AgentBrowser, Observation
from altostratus.ports.llm import LLMUsage
from altostratus.ports.secret_box import executor_request

EPHEMERAL = {"type": "ephemeral"}


@dataclass
class RunContext:
    deps: AgentDeps
    run_id: str
    org_id: str
    engine: Engine
    goal: str
    start_url: str | None
    schema: Any
    error_codes: dict[str, str | None]
    max_steps: int
    screenshot_scrolls: int
    verify_with_full_history: bool
    model: str
    secrets: Secrets
    toolset: Toolset
    tag: str
    system: list[dict[str, Any]]
    tools: list[dict[str, Any]]
    # The next step's observation (and page HTML, and the viewport's screenshot when one was
    # taken with them), read right after a batch of actions; lives only in this slice (a new
    # slice observes afresh).
    prefetched: tuple[Observation, str | None, bytes | None] | None = None
    # The run's view as the last step's final append left it.
    last_view: RunView | None = None
    # Who the run's one-time codes are pushed for.
    totp_identifier: str | None = None
    # Where the run asks for its one-time codes (credentials included, as submitted).
    totp_url: str | None = None
    # The authenticator secret of a saved credential the run names (codes are made from it).
    authenticator: str | None = None
    # Whether the run can obtain one-time codes at all (pushed, pulled or made).
    verification_codes: bool = False
    # The model the request names (None: the engine's configured one).
    requested_model: str | None = None
    # Computer-use engines: the screenshot taken after the last batch, shown in the next step.
    screen: bytes | None = None

    def keep_code(self, code: str) -> None:
        """Keep a one-time code obtained for the run: typed through its placeholder, and hidden
        wherever this slice shows or records the page (its trace is redacted after the slice)."""
        self.secrets = self.secrets.with_value(CODE_SECRET, code)
        self.deps.obtained.add(self.run_id, CODE_SECRET, code)

    @property
    def checklist_enabled(self) -> bool:
        return self.engine is Engine.SKYVERN_V2

    @classmethod
    def build(cls, deps: AgentDeps, view: RunView, browser: AgentBrowser) -> RunContext:
        request = executor_request(view, deps.secret_box, deps.artifacts)
        settings = deps.settings
        engine = view.engine or Engine.SKYVERN_V2
        codes = {str(k): v for k, v in (request.error_code_mapping or {}).items()}
        model = (request.model.model_name if request.model else None) or settings.main_model
        # The request's own credentials (a URL password, header values) are hidden wherever a
        # page shows them back; the user's named secrets can also be typed by placeholder.
        secrets = Secrets(deps.secrets(view), hidden=request.secret_values())
        checklist = engine is Engine.SKYVERN_V2
        authenticator = deps.vault.authenticator(view) if deps.vault is not None else None
        gets_codes = bool(authenticator) or can_get_codes(deps, request.totp_identifier, request.totp_url)
        toolset = build_toolset(
            browser.action_tools(),
            error_codes=codes,
            checklist=checklist,
            verification_codes=gets_codes,
        )
        tag = fence_tag(view.run_id)
        schema = request.data_extraction_schema
        prompt = request.prompt
        if view.ai_fallback_triggered:
            prompt = f"{prompt}\n\n{fallback_note(view.fallback_steps_done or 0, view.fallback_reason)}"
        system = [
            *system_blocks(checklist=checklist),
            task_block(
                prompt=prompt,
                url=redact_url(request.url) if request.url else None,
                error_codes=codes,
                schema=schema,
                secrets_description=secrets.describe(),
                tag=tag,
            ),
        ]
        tools = toolset.tools
        if settings.prompt_caching:
            # Two breakpoints: after tools + rules (the same for every run of an engine, so runs
            # share it in the provider's cache) and after the task (the same for a whole run).
            system = [{**block, "cache_control": EPHEMERAL} for block in system]
        return cls(
            deps=deps,
            run_id=view.run_id,
            org_id=view.org_id,
            engine=engine,
            goal=prompt,
            start_url=request.url,
            schema=schema,
            error_codes=codes,
            max_steps=view.max_steps or 25,
            screenshot_scrolls=view.max_screenshot_scrolls or 0,
            verify_with_full_history=bool(request.include_action_history_in_verification),
            model=model,
            secrets=secrets,
            toolset=toolset,
            tag=tag,
            system=system,
            tools=tools,
            totp_identifier=request.totp_identifier,
            totp_url=request.totp_url,
            authenticator=authenticator,
            verification_codes=gets_codes,
            requested_model=request.model.model_name if request.model else None,
        )


def can_get_codes(deps: AgentDeps, identifier: str | None, url: str | None) -> bool:
    """Whether a run can obtain one-time codes: pushed for its identifier, or from its URL."""
    pushed = bool(identifier) and deps.otp_codes is not None
    pulled = bool(url) and deps.code_endpoint is not None and deps.keys is not None
    return pushed or pulled


@dataclass
class StepTotals:
    """What one step spent: model usage and model latency (to report the engine's own time)."""

    usage: LLMUsage
    llm_ms: float = 0.0

    def add(self, usage: LLMUsage, latency_ms: float) -> None:
        self.usage = self.usage + usage
        self.llm_ms += latency_ms
