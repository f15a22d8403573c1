"""What both runtimes give the API from the settings: its configuration, and the checks of a
valid run request against what this deployment can run (each raises BadRequestError)."""

from __future__ import annotations

from collections.abc import Callable

from altostratus.api.errors import BadRequestError
from altostratus.api.services import ApiConfig
from altostratus.domain.enums import Engine
from altostratus.domain.models import DEFAULT_CHEAP_MODEL, DEFAULT_MAIN_MODEL, is_known_model
from altostratus.domain.proxies import ProxyLocationNotConfiguredError, resolve_proxy
from altostratus.domain.rate_limit import RateLimit
from altostratus.domain.run_request import ProxyUrl, RunTaskRequest
from altostratus.runtimes.settings import Settings
from altostratus.security.targets import TargetPolicy

PROXY_SCHEMES = frozenset({"http", "https", "socks5"})


def proxy_check(settings: Settings) -> Callable[[RunTaskRequest], None]:
    """A named `proxy_location` must be one the operator configured (ALTO_PROXY_LOCATIONS); a
    proxy the request brings itself (`{"url": ...}`) must be an address the browser may reach,
    since every page of the run would be fetched through it."""
    policy = TargetPolicy.for_runtime(settings.runtime, settings.allowed_targets)

    def check(request: RunTaskRequest) -> None:
        try:
            resolve_proxy(request.proxy_location, settings.proxy_locations)
        except ProxyLocationNotConfiguredError as exc:
            raise BadRequestError(str(exc)) from exc
        if isinstance(request.proxy_location, ProxyUrl):
            reason = policy.url_refusal(request.proxy_location.url, schemes=PROXY_SCHEMES)
            if reason is not None:
                raise BadRequestError(f"proxy_location.url is not allowed: {reason}.")

    return check


def check_model_for(settings: Settings) -> Callable[[RunTaskRequest], None]:
    """`check_model` for the Claude engines; openai-cua and ui-tars name their provider's models."""

    def check(request: RunTaskRequest) -> None:
        if request.engine in (Engine.OPENAI_CUA, Engine.UI_TARS):
            return
        check_model(request)

    return check


def check_model(request: RunTaskRequest) -> None:
    """A run may name its model; an unknown name is refused at submission, not mid-run."""
    name = request.model.model_name if request.model else None
    if name and not is_known_model(name):
        raise BadRequestError(
            f"Unknown model {name!r}: use a Claude model name this deployment knows, such as "
            f"{DEFAULT_MAIN_MODEL!r} or {DEFAULT_CHEAP_MODEL!r}."
        )


def max_steps_check(settings: Settings) -> Callable[[RunTaskRequest], None]:
    """`max_steps` within the operator's limit (ALTO_MAX_STEPS_LIMIT)."""
    limit = settings.max_steps_limit

    def check(request: RunTaskRequest) -> None:
        if request.effective_max_steps > limit:
            raise BadRequestError(
                f"max_steps must be at most {limit} on this deployment; got {request.effective_max_steps}."
            )

    return check


def api_config(
    settings: Settings,
    *,
    cache_keys: bool,
    default_app_url: str | None = None,
    media_origins: tuple[str, ...] = (),
) -> ApiConfig:
    return ApiConfig(
        max_body_bytes=settings.max_body_bytes,
        store_parts_above_bytes=settings.store_request_parts_above_bytes,
        strip_prefixes=tuple(p.rstrip("/") for p in settings.strip_prefixes),
        app_url=settings.app_url or default_app_url,
        media_origins=media_origins,
        key_cache_seconds=settings.key_cache_seconds if cache_keys else 0.0,
    )


def rate_limit(settings: Settings) -> RateLimit | None:
    """The per-key limit the settings ask for; None when either figure is 0 (no limit)."""
    if settings.rate_limit_per_second <= 0 or settings.rate_limit_burst <= 0:
        return None
    return RateLimit(per_second=settings.rate_limit_per_second, burst=settings.rate_limit_burst)


def engine_check(settings: Settings) -> Callable[[RunTaskRequest], None]:
    """A computer-use engine runs only where its provider is configured: the 400 names the
    setting to set."""
    missing = {
        Engine.OPENAI_CUA: None if settings.openai_api_key else "ALTO_OPENAI_API_KEY",
        Engine.UI_TARS: None if settings.ui_tars_base_url else "ALTO_UI_TARS_BASE_URL",
    }

    def check(request: RunTaskRequest) -> None:
        setting = missing.get(request.engine)
        if setting is not None:
            raise BadRequestError(
                f"The engine {request.engine.value!r} is not configured on this deployment: set {setting}."
            )
        if request.engine.is_cua and request.browser_session_id:
            raise BadRequestError(f"The engine {request.engine.value!r} does not support browser sessions.")

    return check


def submission_checks(settings: Settings) -> list[Callable[[RunTaskRequest], None]]:
    return [
        engine_check(settings),
        check_model_for(settings),
        proxy_check(settings),
        max_steps_check(settings),
    ]
