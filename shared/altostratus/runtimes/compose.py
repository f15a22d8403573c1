"""The one composition of the services, from the adapters a runtime brings.

The embedded runtime (SQLite, files) and the AWS runtime (DynamoDB, S3, Step Functions) each
build their adapters into `Stores` and call these functions, so the API, the webhook deliverer,
the lifecycle tasks and the agent slices are assembled the same way on both, once, and are not
changed after they are built.

The agent engine (and Chromium) is imported only by `agent_slices`: the lifecycle and webhook
functions of the AWS stack ship without it.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING

from aws_lambda_powertools.utilities.idempotency import BasePersistenceLayer

from altostratus.adapters.anthropic_llm import LLMRetryPolicy
from altostratus.api.services import ApiServices
from altostratus.domain.ids import IdFactory
from altostratus.domain.models import DEFAULT_CHEAP_MODEL
from altostratus.domain.run_request import RunTaskRequest
from altostratus.domain.view import RunView
from altostratus.orchestration.admission import Admission
from altostratus.orchestration.lifecycle import RunLifecycle
from altostratus.orchestration.workflows import WorkflowPublisher
from altostratus.ports.artifacts import ArtifactStore
from altostratus.ports.clock import Clock
from altostratus.ports.credentials import CredentialStore
from altostratus.ports.event_log import EventLog
from altostratus.ports.keys import KeyStore
from altostratus.ports.orchestrator import Orchestrator
from altostratus.ports.otp_codes import OtpCodes
from altostratus.ports.rate_limit import RateLimiter
from altostratus.ports.run_slots import RunSlots
from altostratus.ports.secret_box import SecretBox
from altostratus.ports.session_browsers import SessionBrowsers
from altostratus.ports.session_log import SessionLog
from altostratus.ports.session_timer import SessionTimer
from altostratus.ports.workflow_log import WorkflowLog
from altostratus.runtimes.api_options import api_config, submission_checks
from altostratus.runtimes.otp_reader import ModelOtpReader
from altostratus.runtimes.settings import Settings
from altostratus.security.callback_targets import CallbackTargets
from altostratus.security.targets import TargetPolicy
from altostratus.webhooks import (
    CallbackAddressCheck,
    WebhookDeliverer,
    WebhookReplayService,
    WebhookRetryPolicy,
    WebhookSender,
)

if TYPE_CHECKING:
    from altostratus.orchestration.slices import AgentSlices
    from altostratus.ports.browser import BrowserProvider


@dataclass(frozen=True)
class Stores:
    """The adapters a runtime brings: where runs, artifacts, keys and leases are kept."""

    event_log: EventLog
    artifacts: ArtifactStore
    keys: KeyStore
    idempotency: BasePersistenceLayer
    run_slots: RunSlots
    secret_box: SecretBox
    ids: IdFactory
    clock: Clock
    # Per-key request rate; None: no limit.
    rate_limiter: RateLimiter | None = None
    # Verifies an artifact link's signature (the file store); None where links go elsewhere.
    link_verifier: Callable[[str, int, str], bool] | None = None
    # Browser sessions (their log) and where their browsers live; None: no sessions.
    sessions: SessionLog | None = None
    session_browsers: SessionBrowsers | None = None
    # Closes sessions at their deadline (AWS); None: the runtime's own timer does.
    session_timer: SessionTimer | None = None
    # One-time codes pushed for 2FA; None: this deployment keeps none.
    otp_codes: OtpCodes | None = None
    # Saved credentials (passwords, cards, secrets); None: this deployment keeps none.
    credentials: CredentialStore | None = None
    # Workflows and their scripts; None: this deployment publishes none.
    workflows: WorkflowLog | None = None


def webhook_retry_policy(settings: Settings) -> WebhookRetryPolicy:
    return WebhookRetryPolicy(
        max_attempts=settings.webhook_max_attempts,
        base_delay_s=settings.webhook_backoff_base_s,
        max_delay_s=settings.webhook_backoff_max_s,
        timeout_s=settings.webhook_timeout_s,
    )


def deliverer(settings: Settings, stores: Stores, *, default_app_url: str | None = None) -> WebhookDeliverer:
    """Raises ValueError when ALTO_ALLOWED_TARGETS has an entry that is neither host nor CIDR."""
    policy = webhook_retry_policy(settings)
    targets = CallbackTargets(TargetPolicy.parse(settings.allowed_targets))
    return WebhookDeliverer(
        event_log=stores.event_log,
        keys=stores.keys,
        artifacts=stores.artifacts,
        sender=WebhookSender(targets, policy),
        policy=policy,
        clock=stores.clock,
        app_url=settings.app_url or default_app_url,
        secret_box=stores.secret_box,
    )


def api_services(
    settings: Settings,
    stores: Stores,
    *,
    webhooks: WebhookDeliverer,
    orchestrator: Orchestrator | None,
    cache_keys: bool,
    session_address: Callable[[str], str] | None = None,
    default_app_url: str | None = None,
    media_origins: tuple[str, ...] = (),
    model_key: Callable[[], str | None] | None = None,
) -> ApiServices:
    """`cache_keys`: whether a key's lookup may be answered from memory for a while (AWS, where
    every request would otherwise read the table); the embedded server asks every time, since
    `alto keys revoke` runs in another process and must take effect at once. `default_app_url`:
    the run viewer's base when ALTO_APP_URL is unset (else the base each request came to);
    `media_origins`: where the artifact store's links point besides this origin. `model_key`:
    the model key (read when needed), for the cheaper model that reads pushed messages."""
    checks: list[Callable[[RunTaskRequest], None]] = [
        *submission_checks(settings),
        CallbackAddressCheck(webhooks.sender.targets),
    ]
    return ApiServices(
        event_log=stores.event_log,
        artifacts=stores.artifacts,
        keys=stores.keys,
        idempotency=stores.idempotency,
        ids=stores.ids,
        clock=stores.clock,
        secret_box=stores.secret_box,
        config=api_config(
            settings, cache_keys=cache_keys, default_app_url=default_app_url, media_origins=media_origins
        ),
        orchestrator=orchestrator,
        webhooks=WebhookReplayService(webhooks),
        submission_checks=tuple(checks),
        link_verifier=stores.link_verifier,
        rate_limiter=stores.rate_limiter,
        sessions=stores.sessions,
        session_browsers=stores.session_browsers,
        session_timer=stores.session_timer,
        session_address=session_address,
        otp_codes=stores.otp_codes,
        credentials=stores.credentials,
        otp_reader=otp_reader(settings, model_key) if model_key is not None else None,
        workflows=stores.workflows,
    )


def otp_reader(settings: Settings, model_key: Callable[[], str | None]) -> ModelOtpReader:
    """The cheaper model, reading the pushed messages whose code no pattern finds."""
    return ModelOtpReader(
        settings.cheap_model or DEFAULT_CHEAP_MODEL,
        api_key=model_key,
        base_url=settings.anthropic_base_url,
        timeout_s=min(settings.llm_timeout_seconds, 30.0),
        retry=LLMRetryPolicy(
            max_attempts=settings.llm_max_attempts, base_delay_s=settings.llm_retry_base_seconds
        ),
    )


def admission(settings: Settings, stores: Stores) -> Admission:
    """The per-organization cap on executing runs, as the settings configure it."""
    return Admission(
        slots=stores.run_slots,
        max_running_per_org=settings.max_running_per_org,
        lease_seconds=settings.run_slot_lease_seconds,
        retry_seconds=settings.admission_retry_seconds,
        clock=stores.clock,
    )


def publisher(stores: Stores) -> WorkflowPublisher | None:
    if stores.workflows is None:
        return None
    return WorkflowPublisher(stores.event_log, stores.workflows, stores.artifacts, stores.ids)


def lifecycle(settings: Settings, stores: Stores, gate: Admission | None = None) -> RunLifecycle:
    return RunLifecycle(
        stores.event_log,
        gate or admission(settings, stores),
        sessions=stores.sessions,
        max_run_seconds=settings.max_run_seconds,
        publisher=publisher(stores),
    )


def agent_slices(
    settings: Settings,
    stores: Stores,
    *,
    api_key: str | None,
    browsers: BrowserProvider | None = None,
    embedded: bool,
    gate: Admission | None = None,
    secrets: Callable[[RunView], Mapping[str, str]] | None = None,
) -> AgentSlices:
    """The agent with its model client and a browser provider (Chromium unless `browsers` is
    given). `embedded`: slices share one long-lived event loop per worker, so a browser the
    provider keeps survives from one slice to the next; on Lambda one loop is kept for the
    execution environment, and with it the browser, from one invocation to the next."""
    from altostratus.adapters.browser.provider import BROWSER_GONE
    from altostratus.adapters.http_code_endpoint import HttpCodeEndpoint
    from altostratus.adapters.recording.provider import RecordedBrowsers
    from altostratus.adapters.recording.recorder import RecordingSink
    from altostratus.engine.agent.secrets import Secrets
    from altostratus.engine.agent.vault import RunVault
    from altostratus.orchestration.slices import AgentSlices, SliceBudget
    from altostratus.runtimes.browsers import browser_provider
    from altostratus.runtimes.engine import agent_deps, recording_settings

    deps = agent_deps(
        settings,
        event_log=stores.event_log,
        artifacts=stores.artifacts,
        ids=stores.ids,
        clock=stores.clock,
        api_key=api_key,
        secret_box=stores.secret_box,
        otp_codes=stores.otp_codes,
        # A run's totp_url is called under the same address policy as webhooks.
        code_endpoint=HttpCodeEndpoint(
            CallbackTargets(TargetPolicy.parse(settings.allowed_targets)),
            timeout_s=settings.webhook_timeout_s,
        ),
        keys=stores.keys,
    )
    if secrets is not None:
        deps = replace(deps, secrets=secrets)
    if stores.credentials is not None:
        run_vault = RunVault(stores.credentials, stores.secret_box)
        given = deps.secrets

        def with_credentials(view: RunView) -> Mapping[str, str]:
            return {**given(view), **run_vault.secrets(view)}

        deps = replace(deps, secrets=with_credentials, vault=run_vault)
    return AgentSlices(
        agent=deps,
        # Every slice's browser is recorded (the run's video; a trace when asked for).
        browsers=RecordedBrowsers(
            browsers or browser_provider(settings, embedded=embedded, sessions=stores.session_browsers),
            RecordingSink(
                artifacts=deps.artifacts,
                event_log=deps.event_log,
                ids=deps.ids,
                settings=recording_settings(settings),
                # The run's secrets and the codes it obtained in the slice being recorded.
                redaction=lambda view, hidden: Secrets(
                    {**deps.secrets(view), **deps.obtained.of(view.run_id)}, hidden=hidden
                ),
            ),
        ),
        budget=SliceBudget(slice_seconds=settings.slice_seconds),
        browser_gone=BROWSER_GONE,
        persistent_loop=embedded,
        warm_environment=not embedded,
        admission=gate or admission(settings, stores),
        sessions=stores.sessions,
        plans=publisher(stores),
    )
