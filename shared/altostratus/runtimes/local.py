"""The embedded runtime's composition root: SQLite, files and in-process services under one
data directory, no AWS account needed."""

from __future__ import annotations

import hashlib
import hmac
import os
import secrets
from dataclasses import dataclass, replace

from altostratus.adapters.file_artifacts import FileArtifactStore
from altostratus.adapters.inprocess_rate_limiter import InProcessRateLimiter
from altostratus.adapters.key_stores import SQLiteKeyStore
from altostratus.adapters.sealing import Sealer, decode_master_key
from altostratus.adapters.sqlite_db import SQLiteDatabase
from altostratus.adapters.sqlite_event_log import SQLiteEventLog
from altostratus.adapters.sqlite_idempotency import SQLitePersistenceLayer
from altostratus.adapters.sqlite_run_slots import SQLiteRunSlots
from altostratus.api.app import build_api
from altostratus.api.resolver import AltoResolver
from altostratus.api.services import ApiServices
from altostratus.domain.ids import IdFactory
from altostratus.ports.clock import Clock, SystemClock
from altostratus.runtimes import data_dir
from altostratus.runtimes.api_options import api_config, rate_limit, submission_checks
from altostratus.runtimes.integrations import (
    LocalIntegrations,
    build_deliverer,
    build_local_integrations,
    wire_api,
)
from altostratus.runtimes.settings import Settings

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


@dataclass
class LocalRuntime:
    settings: Settings
    db: SQLiteDatabase
    event_log: SQLiteEventLog
    artifacts: FileArtifactStore
    keys: SQLiteKeyStore
    idempotency: SQLitePersistenceLayer
    services: ApiServices
    ids: IdFactory
    clock: Clock
    # Issue 6: the outbox publisher and webhook delivery worker (threads once started).
    integrations: LocalIntegrations | None = None
    run_slots: SQLiteRunSlots | None = None  # leases of the per-organization cap

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
        self.idempotency.release_in_progress()

    def serve_at(self, base_url: str) -> None:
        """The server listens at `base_url` (known once a port is bound): signed artifact links
        and, unless ALTO_APP_URL says otherwise, the viewer's `app_url` point there."""
        self.artifacts.public_base_url = base_url
        if self.settings.app_url is None:
            self.services.config = replace(self.services.config, app_url=base_url)
            if self.integrations is not None:
                self.integrations.deliverer.app_url = base_url

    def start_integrations(self) -> None:
        """Start publishing events and delivering webhooks in background threads (`alto serve`)."""
        if self.integrations is not None:
            self.integrations.start()

    def close(self) -> None:
        if self.integrations is not None:
            self.integrations.stop()
        self.db.close()


def build_local(settings: Settings, *, clock: Clock | None = None) -> LocalRuntime:
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
    limit = rate_limit(settings)
    services = ApiServices(
        event_log=event_log,
        artifacts=artifacts,
        keys=keys,
        idempotency=idempotency,
        ids=ids,
        clock=clock,
        secret_box=sealer,
        # No key cache: `alto keys revoke` runs in another process and must take effect at once.
        # The run viewer is served here too, so `app_url` points at this server by default.
        config=api_config(settings, cache_keys=False, default_app_url=settings.base_url()),
        submission_checks=submission_checks(settings),
        link_verifier=artifacts.verify,
        # One server process per data directory, so its memory holds every key's bucket.
        rate_limiter=InProcessRateLimiter(limit, clock) if limit else None,
    )
    # Issue 6: retry_run_webhook, callback address checks, the outbox and the webhook worker.
    deliverer = build_deliverer(
        settings,
        event_log=event_log,
        keys=keys,
        artifacts=artifacts,
        clock=clock,
        secret_box=sealer,
        default_app_url=settings.base_url(),
    )
    wire_api(services, deliverer)
    integrations = build_local_integrations(
        settings, db=db, event_log=event_log, deliverer=deliverer, clock=clock
    )
    return LocalRuntime(
        settings=settings,
        db=db,
        event_log=event_log,
        artifacts=artifacts,
        keys=keys,
        idempotency=idempotency,
        services=services,
        ids=ids,
        clock=clock,
        integrations=integrations,
        run_slots=SQLiteRunSlots(db, clock),
    )
