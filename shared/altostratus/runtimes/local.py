"""The embedded runtime's composition root: SQLite, files and in-process services under one
data directory, no AWS account needed."""

from __future__ import annotations

import hashlib
import hmac
import os
import secrets
from dataclasses import dataclass

from altostratus.adapters.checkpoint_sessions import CheckpointSessions
from altostratus.adapters.file_artifacts import FileArtifactStore
from altostratus.adapters.inprocess_rate_limiter import InProcessRateLimiter
from altostratus.adapters.key_stores import SQLiteKeyStore
from altostratus.adapters.sealing import Sealer, decode_master_key
from altostratus.adapters.sqlite_credentials import SQLiteCredentialStore
from altostratus.adapters.sqlite_db import SQLiteDatabase
from altostratus.adapters.sqlite_event_log import SQLiteEventLog
from altostratus.adapters.sqlite_idempotency import SQLitePersistenceLayer
from altostratus.adapters.sqlite_otp_codes import SQLiteOtpCodes
from altostratus.adapters.sqlite_run_slots import SQLiteRunSlots
from altostratus.adapters.sqlite_session_log import SQLiteSessionLog
from altostratus.adapters.sqlite_workflow_log import SQLiteWorkflowLog
from altostratus.api.app import build_api
from altostratus.api.resolver import AltoResolver
from altostratus.api.services import ApiServices
from altostratus.domain.ids import IdFactory
from altostratus.ports.clock import Clock, SystemClock
from altostratus.ports.orchestrator import Orchestrator
from altostratus.ports.session_browsers import SessionBrowsers
from altostratus.runtimes import compose, data_dir
from altostratus.runtimes.api_options import rate_limit
from altostratus.runtimes.cdp_relay import cdp_address
from altostratus.runtimes.compose import Stores
from altostratus.runtimes.integrations import LocalIntegrations, build_local_integrations
from altostratus.runtimes.session_backends import agentcore_sessions
from altostratus.runtimes.settings import Settings
from altostratus.webhooks import WebhookDeliverer

DEFAULT_ORG = "default"


def _master_key(settings: Settings) -> bytes:
    if settings.master_key is not None:
        return decode_master_key(settings.master_key.get_secret_value())
    path = settings.data_dir / "master.key"
    if not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
        # Created readable by the owner only; O_EXCL so two first starts cannot both write one.
        try:
            fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        except FileExistsError:
            pass
        else:
            with os.fdopen(fd, "w") as f:
                f.write(secrets.token_hex(32))
    return decode_master_key(path.read_text())


@dataclass(frozen=True)
class LocalStores:
    """The embedded adapters, all under one data directory."""

    settings: Settings
    db: SQLiteDatabase
    event_log: SQLiteEventLog
    artifacts: FileArtifactStore
    keys: SQLiteKeyStore
    idempotency: SQLitePersistenceLayer
    run_slots: SQLiteRunSlots
    stores: Stores


def local_stores(settings: Settings, *, clock: Clock | None = None) -> LocalStores:
    clock = clock or SystemClock()
    ids = IdFactory()
    data_dir.prepare(settings.data_dir)
    master = _master_key(settings)
    db = SQLiteDatabase(settings.database_path)
    event_log = SQLiteEventLog(db, clock)
    link_secret = hmac.new(master, b"artifact-links", hashlib.sha256).digest()
    artifacts = FileArtifactStore(
        settings.artifacts_dir, public_base_url=settings.base_url(), signing_secret=link_secret
    )
    sealer = Sealer(master)
    keys = SQLiteKeyStore(db, sealer, ids, clock)
    idempotency = SQLitePersistenceLayer(db)
    run_slots = SQLiteRunSlots(db, clock)
    limit = rate_limit(settings)
    from altostratus.adapters.browser.config import LaunchConfig
    from altostratus.adapters.browser.live_sessions import LiveChromiumSessions

    sessions = SQLiteSessionLog(db, clock)
    session_browsers: SessionBrowsers
    if settings.session_backend == "checkpoint":
        session_browsers = CheckpointSessions(sessions, artifacts, sealer, ids)
    elif settings.session_backend == "agentcore":
        session_browsers = agentcore_sessions(settings)
    else:
        # Started lazily: no Chromium runs until a session is used.
        session_browsers = LiveChromiumSessions(LaunchConfig(executable_path=settings.chromium_path))
    stores = Stores(
        event_log=event_log,
        artifacts=artifacts,
        keys=keys,
        idempotency=idempotency,
        run_slots=run_slots,
        secret_box=sealer,
        ids=ids,
        clock=clock,
        # One server process per data directory, so its memory holds every key's bucket.
        rate_limiter=InProcessRateLimiter(limit, clock) if limit else None,
        link_verifier=artifacts.verify,
        sessions=sessions,
        session_browsers=session_browsers,
        otp_codes=SQLiteOtpCodes(db),
        credentials=SQLiteCredentialStore(db),
        workflows=SQLiteWorkflowLog(db, clock),
    )
    return LocalStores(
        settings=settings,
        db=db,
        event_log=event_log,
        artifacts=artifacts,
        keys=keys,
        idempotency=idempotency,
        run_slots=run_slots,
        stores=stores,
    )


@dataclass
class LocalRuntime:
    local: LocalStores
    services: ApiServices
    deliverer: WebhookDeliverer
    # The outbox publisher and webhook delivery worker (threads once started).
    integrations: LocalIntegrations

    @property
    def settings(self) -> Settings:
        return self.local.settings

    @property
    def db(self) -> SQLiteDatabase:
        return self.local.db

    @property
    def event_log(self) -> SQLiteEventLog:
        return self.local.event_log

    @property
    def artifacts(self) -> FileArtifactStore:
        return self.local.artifacts

    @property
    def keys(self) -> SQLiteKeyStore:
        return self.local.keys

    @property
    def ids(self) -> IdFactory:
        return self.local.stores.ids

    @property
    def clock(self) -> Clock:
        return self.local.stores.clock

    def api(self) -> AltoResolver:
        return build_api(self.services)

    def ensure_dev_key(self) -> str | None:
        """On the first start, an organization and a key for development; the key is returned
        (to print once) only when it was created now."""
        if self.keys.org_by_name(DEFAULT_ORG) is not None:
            return None
        try:
            org = self.keys.create_org(DEFAULT_ORG)
        except ValueError:
            return None  # another process created it first
        _, raw = self.keys.create_key(org.org_id, label="development key")
        return raw

    def release_stale_locks(self) -> None:
        """In-progress idempotency locks of a process that died (call with the data directory's
        lock held)."""
        self.local.idempotency.release_in_progress()

    def serve_at(self, base_url: str) -> None:
        """The server listens at `base_url` (known once its port is bound): signed artifact
        links, and webhook bodies' `app_url` unless configured, point there."""
        self.artifacts.public_base_url = base_url
        if self.deliverer.app_url is None:
            self.deliverer.app_url = base_url

    def start_integrations(self) -> None:
        """Start publishing events and delivering webhooks in background threads (`alto serve`)."""
        self.integrations.start()

    def close(self) -> None:
        self.integrations.stop()
        if self.local.stores.session_browsers is not None:
            self.local.stores.session_browsers.close()
        self.db.close()


def build_local(
    settings: Settings,
    *,
    clock: Clock | None = None,
    local: LocalStores | None = None,
    orchestrator: Orchestrator | None = None,
) -> LocalRuntime:
    """The API, webhooks and outbox over `local` (built from the settings when not given);
    `orchestrator` executes the runs the API accepts (None: they wait queued)."""
    local = local or local_stores(settings, clock=clock)
    # The run viewer is served here too, so `app_url` points at this server (when its port is
    # known before it listens; otherwise at the address each request came to).
    here = settings.base_url() if settings.public_url or settings.port else None
    deliverer = compose.deliverer(settings, local.stores, default_app_url=here)
    artifacts = local.artifacts

    def session_address(session_id: str) -> str:
        # The server's own address (known once it listens): its CDP relay.
        return cdp_address(artifacts.public_base_url, session_id)

    services = compose.api_services(
        settings,
        local.stores,
        webhooks=deliverer,
        orchestrator=orchestrator,
        cache_keys=False,
        session_address=session_address,
        default_app_url=here,
        model_key=lambda: (
            settings.anthropic_api_key.get_secret_value() if settings.anthropic_api_key else None
        ),
    )
    integrations = build_local_integrations(
        settings,
        db=local.db,
        event_log=local.event_log,
        feed=local.event_log,
        deliverer=deliverer,
        clock=local.stores.clock,
    )
    return LocalRuntime(local=local, services=services, deliverer=deliverer, integrations=integrations)
