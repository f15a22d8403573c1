"""Engine wiring shared by both runtimes: the LLM client, the engine settings, the model check."""

from __future__ import annotations

from collections.abc import Callable

from altostratus.adapters.anthropic_llm import AnthropicLLM
from altostratus.api.errors import BadRequestError
from altostratus.domain.ids import IdFactory
from altostratus.domain.models import DEFAULT_CHEAP_MODEL, DEFAULT_MAIN_MODEL, is_known_model
from altostratus.domain.run_request import RunTaskRequest
from altostratus.engine.agent.deps import AgentDeps
from altostratus.engine.agent.settings import EngineSettings
from altostratus.engine.browser.config import resolve_proxy
from altostratus.engine.browser.errors import ProxyLocationNotConfiguredError
from altostratus.ports.artifacts import ArtifactStore
from altostratus.ports.clock import Clock
from altostratus.ports.event_log import EventLog
from altostratus.runtimes.settings import Settings


def engine_settings(settings: Settings) -> EngineSettings:
    return EngineSettings(
        main_model=settings.main_model or DEFAULT_MAIN_MODEL,
        cheap_model=settings.cheap_model or DEFAULT_CHEAP_MODEL,
    )


def agent_deps(
    settings: Settings,
    *,
    event_log: EventLog,
    artifacts: ArtifactStore,
    ids: IdFactory,
    clock: Clock,
    api_key: str | None,
) -> AgentDeps:
    llm = AnthropicLLM(api_key=api_key, base_url=settings.anthropic_base_url)
    return AgentDeps(
        event_log=event_log,
        artifacts=artifacts,
        llm=llm,
        ids=ids,
        clock=clock,
        settings=engine_settings(settings),
    )


def proxy_check(settings: Settings) -> Callable[[RunTaskRequest], None]:
    """A named `proxy_location` must be one the operator configured (ALTO_PROXY_LOCATIONS)."""

    def check(request: RunTaskRequest) -> None:
        try:
            resolve_proxy(request.proxy_location, settings.proxy_locations)
        except ProxyLocationNotConfiguredError as exc:
            raise BadRequestError(str(exc)) from exc

    return check


def check_model(request: RunTaskRequest) -> None:
    """A run may name its model; an unknown name is refused at submission, not mid-run."""
    name = request.model.model_name if request.model else None
    if name and not is_known_model(name):
        raise BadRequestError(
            f"Unknown model {name!r}: use a Claude model name this deployment knows, such as "
            f"{DEFAULT_MAIN_MODEL!r} or {DEFAULT_CHEAP_MODEL!r}."
        )
