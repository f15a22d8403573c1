"""Engine wiring shared by both runtimes: the LLM client and the engine settings."""

from __future__ import annotations

from altostratus.adapters.anthropic_llm import AnthropicLLM, LLMRetryPolicy
from altostratus.adapters.openai_api import OpenAIApi
from altostratus.adapters.recording.settings import RecordingSettings
from altostratus.domain.ids import IdFactory
from altostratus.domain.models import DEFAULT_CHEAP_MODEL, DEFAULT_MAIN_MODEL
from altostratus.engine.agent.deps import AgentDeps
from altostratus.engine.agent.settings import EngineSettings
from altostratus.ports.artifacts import ArtifactStore
from altostratus.ports.clock import Clock
from altostratus.ports.code_endpoints import CodeEndpoint
from altostratus.ports.event_log import EventLog
from altostratus.ports.keys import KeyStore
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
        totp_wait_between_slices=settings.waits_for_codes_between_slices,
        openai_cua_model=settings.openai_cua_model,
        anthropic_cua_model=settings.anthropic_cua_model or settings.main_model or DEFAULT_MAIN_MODEL,
        ui_tars_model=settings.ui_tars_model,
        ui_tars_coordinates=settings.ui_tars_coordinates,
        ui_tars_language=settings.ui_tars_language,
        cua_safety_checks=settings.cua_safety_checks,
    )


def cua_clients(settings: Settings) -> tuple[OpenAIApi | None, OpenAIApi | None]:
    """The Responses client (openai-cua) and the chat client (ui-tars), where configured."""
    retry = LLMRetryPolicy(
        max_attempts=settings.llm_max_attempts, base_delay_s=settings.llm_retry_base_seconds
    )
    responses = chat = None
    if settings.openai_api_key is not None:
        responses = OpenAIApi(
            api_key=settings.openai_api_key.get_secret_value(),
            base_url=settings.openai_base_url,
            retry=retry,
            timeout_s=settings.llm_timeout_seconds,
        )
    if settings.ui_tars_base_url:
        key = settings.ui_tars_api_key.get_secret_value() if settings.ui_tars_api_key else "unused"
        chat = OpenAIApi(
            api_key=key,
            base_url=settings.ui_tars_base_url,
            name="the UI-TARS endpoint",
            setting="ALTO_UI_TARS_API_KEY",
            retry=retry,
            timeout_s=settings.llm_timeout_seconds,
        )
    return responses, chat


def recording_settings(settings: Settings) -> RecordingSettings:
    return RecordingSettings(
        video=settings.recording,
        fps=settings.recording_fps,
        max_width=settings.recording_max_width,
        max_height=settings.recording_max_height,
        flush_seconds=settings.recording_flush_seconds,
        trace=settings.trace,
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
    code_endpoint: CodeEndpoint | None = None,
    keys: KeyStore | None = None,
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
    responses, chat = cua_clients(settings)
    return AgentDeps(
        responses=responses,
        chat=chat,
        event_log=event_log,
        artifacts=artifacts,
        llm=llm,
        ids=ids,
        clock=clock,
        settings=engine_settings(settings),
        secret_box=secret_box,
        otp_codes=otp_codes,
        code_endpoint=code_endpoint,
        keys=keys,
    )
