"""Engine wiring shared by both runtimes: the LLM client and the engine settings."""

from __future__ import annotations

from altostratus.adapters.anthropic_llm import AnthropicLLM, LLMRetryPolicy
from altostratus.domain.ids import IdFactory
from altostratus.domain.models import DEFAULT_CHEAP_MODEL, DEFAULT_MAIN_MODEL
from altostratus.engine.agent.deps import AgentDeps
from altostratus.engine.agent.settings import EngineSettings
from altostratus.ports.artifacts import ArtifactStore
from altostratus.ports.clock import Clock
from altostratus.ports.event_log import EventLog
from altostratus.ports.otp_codes import OtpCodes
from altostratus.ports.secret_box import SecretBox
from altostratus.runtimes.settings import Settings


def engine_settings(settings: Settings) -> EngineSettings:
    return EngineSettings(
        main_model=settings.main_model or DEFAULT_MAIN_MODEL,
        cheap_model=settings.cheap_model or DEFAULT_CHEAP_MODEL,
        step_time_reserve_s=settings.step_reserve_seconds,
        max_run_seconds=settings.max_run_seconds,
        totp_poll_s=settings.totp_poll_seconds,
        totp_timeout_s=settings.totp_timeout_seconds,
    )


def agent_deps(
    settings: Settings,
    *,
    event_log: EventLog,
    artifacts: ArtifactStore,
    ids: IdFactory,
    clock: Clock,
    api_key: str | None,
    secret_box: SecretBox | None,
    otp_codes: OtpCodes | None = None,
) -> AgentDeps:
    retry = LLMRetryPolicy(
        max_attempts=settings.llm_max_attempts, base_delay_s=settings.llm_retry_base_seconds
    )
    llm = AnthropicLLM(
        api_key=api_key,
        base_url=settings.anthropic_base_url,
        retry=retry,
        timeout_s=settings.llm_timeout_seconds,
    )
    return AgentDeps(
        event_log=event_log,
        artifacts=artifacts,
        llm=llm,
        ids=ids,
        clock=clock,
        settings=engine_settings(settings),
        secret_box=secret_box,
        otp_codes=otp_codes,
    )
