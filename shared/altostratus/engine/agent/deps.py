"""What the engine is given: ports and settings, nothing it builds itself."""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field

from altostratus.domain.ids import IdFactory
from altostratus.domain.view import RunView
from altostratus.engine.agent.secrets import ObtainedSecrets
from altostratus.engine.agent.settings import EngineSettings
from altostratus.engine.agent.vault import RunVault
from altostratus.ports.artifacts import ArtifactStore
from altostratus.ports.clock import Clock
from altostratus.ports.code_endpoints import CodeEndpoint
from altostratus.ports.event_log import EventLog
from altostratus.ports.keys import KeyStore
from altostratus.ports.llm import LLMClient
from altostratus.ports.openai_api import ChatClient, ResponsesClient
from altostratus.ports.otp_codes import OtpCodes
from altostratus.ports.secret_box import SecretBox


def _no_secrets(view: RunView) -> Mapping[str, str]:
    return {}


@dataclass(frozen=True)
class AgentDeps:
    """The engine's dependencies.

    `secrets` gives a run's secret values by placeholder name (credentials, TOTP codes); the
    model only ever sees the names. `monotonic` is the clock deadlines are measured on.
    `secret_box` opens the sealed parts of run requests.
    """

    event_log: EventLog
    artifacts: ArtifactStore
    llm: LLMClient
    ids: IdFactory
    clock: Clock
    settings: EngineSettings = field(default_factory=EngineSettings)
    secrets: Callable[[RunView], Mapping[str, str]] = _no_secrets
    # The one-time codes runs obtained in the slices under way (for the slice's recording).
    obtained: ObtainedSecrets = field(default_factory=ObtainedSecrets)
    monotonic: Callable[[], float] = time.monotonic
    # Opens the sealed secret parts of run requests (browser headers, URL passwords).
    secret_box: SecretBox | None = None
    # One-time codes pushed for the run's totp_identifier; None: none are kept.
    otp_codes: OtpCodes | None = None
    # Where a run's `totp_url` is asked for its code, and the keys that sign the ask (the key
    # that created the run); None: runs cannot pull codes.
    code_endpoint: CodeEndpoint | None = None
    keys: KeyStore | None = None
    # The organization's saved credentials (already in `secrets` by placeholder name); here for
    # the authenticator secrets whose codes the engine makes. None: no credentials are kept.
    vault: RunVault | None = None
    # The computer-use providers other than Anthropic (None: that engine is not configured).
    responses: ResponsesClient | None = None
    chat: ChatClient | None = None
