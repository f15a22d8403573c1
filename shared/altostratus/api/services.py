"""What the API needs, passed in by a runtime's composition root."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from aws_lambda_powertools.utilities.idempotency import BasePersistenceLayer

from altostratus.api.public_base import public_base
from altostratus.domain.ids import IdFactory
from altostratus.domain.otp import ParsedOtp
from altostratus.domain.run_request import RunTaskRequest
from altostratus.ports.artifacts import ArtifactStore
from altostratus.ports.clock import Clock
from altostratus.ports.credentials import CredentialStore
from altostratus.ports.event_log import EventLog
from altostratus.ports.keys import KeyStore
from altostratus.ports.orchestrator import Orchestrator
from altostratus.ports.otp_codes import OtpCodes
from altostratus.ports.rate_limit import RateLimiter
from altostratus.ports.request_parts import STORE_PARTS_ABOVE_BYTES
from altostratus.ports.secret_box import SecretBox
from altostratus.ports.session_browsers import SessionBrowsers
from altostratus.ports.session_log import SessionLog
from altostratus.ports.session_timer import SessionTimer
from altostratus.ports.webhooks import WebhookReplayer
from altostratus.ports.workflow_log import WorkflowLog

DEFAULT_MAX_BODY_BYTES = 1024 * 1024


@dataclass(frozen=True)
class ApiConfig:
    max_body_bytes: int = DEFAULT_MAX_BODY_BYTES
    # A run request larger than this keeps its largest parts in the artifact store, so the
    # log's records stay small (DynamoDB refuses an item over 400 KB).
    store_parts_above_bytes: int = STORE_PARTS_ABOVE_BYTES
    # Prefixes a proxy in front of the API adds to paths (e.g. "/api").
    strip_prefixes: tuple[str, ...] = ()
    # Base of the run viewer, for `app_url`; unset, the base the request came to.
    app_url: str | None = None
    # Origins besides this one that the artifact store's signed links point to (S3 on AWS),
    # from which the viewer's pages may show images and video.
    media_origins: tuple[str, ...] = ()
    # How long a key's lookup may be answered from memory (0: every request asks the store).
    key_cache_seconds: float = 0.0

    def app_base(self, event: Mapping[str, Any]) -> str | None:
        """The run viewer's base for `app_url`: the configured one, else where `event` came to."""
        return self.app_url or public_base(event, self.strip_prefixes)


@dataclass(frozen=True)
class ApiServices:
    event_log: EventLog
    artifacts: ArtifactStore
    keys: KeyStore
    idempotency: BasePersistenceLayer
    ids: IdFactory
    clock: Clock
    # Seals the secret parts of each run request under the master key.
    secret_box: SecretBox
    config: ApiConfig = field(default_factory=ApiConfig)
    orchestrator: Orchestrator | None = None
    webhooks: WebhookReplayer | None = None
    # Checks of a valid request against what this deployment can run (model names, address
    # policy, ...); each raises BadRequestError or RequestRefusedError with the reason.
    submission_checks: tuple[Callable[[RunTaskRequest], None], ...] = ()
    # Verifies an artifact link's signature (embedded store); None where links go elsewhere (S3).
    link_verifier: Callable[[str, int, str], bool] | None = None
    # Where an artifact too large for one response is redirected, (uri, artifact id) -> URL
    # (AWS: a presigned URL made at that moment); None: served whole, or via `signed_url`
    # when links go elsewhere.
    large_content_link: Callable[[str, str], str] | None = None
    # Per-key request rate, checked after authentication; None: no limit.
    rate_limiter: RateLimiter | None = None
    # Browser sessions and where their browsers live; None: this deployment has none.
    sessions: SessionLog | None = None
    session_browsers: SessionBrowsers | None = None
    # Closes sessions at their deadline outside of any request (AWS: a schedule per session);
    # None: the runtime closes them itself (the embedded server's timer).
    session_timer: SessionTimer | None = None
    # The CDP address a caller connects to a live session's browser at; None: not served.
    session_address: Callable[[str], str] | None = None
    # One-time codes pushed for 2FA; None: the push route answers that none are kept.
    otp_codes: OtpCodes | None = None
    # Reads a pushed message's code with the cheaper model when the patterns find none (raises
    # OtpReadUnavailableError when the model cannot be asked); None: no model is configured.
    # Saved credentials; None: the credential routes answer that none are kept.
    credentials: CredentialStore | None = None
    otp_reader: Callable[[str], ParsedOtp | None] | None = None
    # Workflows and their scripts; None: this deployment keeps none.
    workflows: WorkflowLog | None = None
