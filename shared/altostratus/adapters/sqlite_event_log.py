"""The embedded event log: SQLite (WAL), events + views + artifact index in one transaction."""

from __future__ import annotations

from collections.abc import Sequence

from altostratus.adapters.sqlite_db import SQLiteDatabase
from altostratus.domain import events as ev
from altostratus.domain.artifacts import ArtifactRecord
from altostratus.domain.enums import RunStatus
from altostratus.domain.view import RunView
from altostratus.ports.clock import Clock
from altostratus.ports.errors import ClaimTakenError, SequenceConflictError
from altostratus.ports.event_log import (
    AppendResult,
    Claim,
    ClaimRecord,
    DuplicateEventError,
    EventLog,
    PreparedAppend,
    RunQuery,
)

_SCHEMA = """
CREATE TABLE IF NOT EXISTS events (
    gseq INTEGER PRIMARY KEY AUTOINCREMENT,
    run_id TEXT NOT NULL,
    seq INTEGER NOT NULL,
    event_id TEXT NOT NULL,
    type TEXT NOT NULL,
    body TEXT NOT NULL,
    UNIQUE (run_id, seq),
    UNIQUE (run_id, event_id)
);
CREATE TABLE IF NOT EXISTS views (
    run_id TEXT PRIMARY KEY,
    org_id TEXT NOT NULL,
    created_at TEXT NOT NULL,
    status TEXT NOT NULL,
    run_type TEXT NOT NULL,
    version INTEGER NOT NULL,
    body TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS views_by_org ON views (org_id, created_at DESC, run_id DESC);
CREATE TABLE IF NOT EXISTS artifacts (
    artifact_id TEXT PRIMARY KEY,
    run_id TEXT NOT NULL,
    body TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS artifacts_by_run ON artifacts (run_id);
CREATE TABLE IF NOT EXISTS claims (
    claim TEXT PRIMARY KEY,
    run_id TEXT NOT NULL,
    fingerprint TEXT NOT NULL
)
"""


class SQLiteEventLog(EventLog):
    """Appends hold SQLite's write lock from the read of the view to the commit, so writers on
    one database queue rather than conflict; `expected_version` is still honoured."""

    def __init__(self, db: SQLiteDatabase, clock: Clock) -> None:
        super().__init__(clock)
        self._db = db
        db.ensure_schema("event_log", _SCHEMA)

    def append(
        self,
        run_id: str,
        drafts: Sequence[ev.Draft],
        *,
        expected_version: int | None = None,
        claim: Claim | None = None,
    ) -> AppendResult:
        # The whole read-fold-write runs under the write lock: writers queue instead of racing.
        with self._db.write():
            return super().append(run_id, drafts, expected_version=expected_version, claim=claim)

    def _write(self, prepared: PreparedAppend) -> None:
        conn = self._db.connection()  # inside append's transaction
        if prepared.dedupe_ids:
            marks = ",".join("?" * len(prepared.dedupe_ids))
            sql = f"SELECT event_id FROM events WHERE run_id = ? AND event_id IN ({marks})"
            found = conn.execute(sql, (prepared.run_id, *prepared.dedupe_ids)).fetchall()
            if found:
                raise DuplicateEventError(prepared.run_id, frozenset(row[0] for row in found))
        row = conn.execute("SELECT version FROM views WHERE run_id = ?", (prepared.run_id,)).fetchone()
        if (row[0] if row else 0) != prepared.expected_version:
            raise SequenceConflictError(prepared.run_id)
        if prepared.claim is not None:
            taken = conn.execute("SELECT 1 FROM claims WHERE claim = ?", (prepared.claim.key,)).fetchone()
            if taken:
                raise ClaimTakenError(prepared.claim.key)
            conn.execute(
                "INSERT INTO claims (claim, run_id, fingerprint) VALUES (?, ?, ?)",
                (prepared.claim.key, prepared.run_id, prepared.claim.fingerprint),
            )
        conn.executemany(
            "INSERT INTO events (run_id, seq, event_id, type, body) VALUES (?, ?, ?, ?, ?)",
            [(e.run_id, e.seq, e.event_id, e.type, ev.encode_event(e)) for e in prepared.events],
        )
        view = prepared.view
        conn.execute(
            "INSERT INTO views (run_id, org_id, created_at, status, run_type, version, body)"
            " VALUES (?, ?, ?, ?, ?, ?, ?)"
            " ON CONFLICT (run_id) DO UPDATE SET status = excluded.status, version = excluded.version,"
            " body = excluded.body",
            (
                view.run_id,
                view.org_id,
                view.created_at.isoformat(),
                view.status.value,
                view.run_type.value,
                view.version,
                view.model_dump_json(),
            ),
        )
        conn.executemany(
            "INSERT INTO artifacts (artifact_id, run_id, body) VALUES (?, ?, ?)",
            [(a.artifact_id, a.run_id, a.model_dump_json()) for a in prepared.artifacts],
        )

    def read(self, run_id: str, *, after_seq: int = 0, limit: int | None = None) -> list[ev.Event]:
        rows = self._db.fetchall(
            "SELECT body FROM events WHERE run_id = ? AND seq > ? ORDER BY seq LIMIT ?",
            (run_id, after_seq, -1 if limit is None else limit),
        )
        return [ev.decode_event(r[0]) for r in rows]

    def read_global(self, *, after: int = 0, limit: int = 500) -> list[tuple[int, ev.Event]]:
        """Every run's events in the order they were committed, for the embedded outbox."""
        rows = self._db.fetchall(
            "SELECT gseq, body FROM events WHERE gseq > ? ORDER BY gseq LIMIT ?", (after, limit)
        )
        return [(r[0], ev.decode_event(r[1])) for r in rows]

    def get_view(self, run_id: str) -> RunView | None:
        row = self._db.fetchone("SELECT body FROM views WHERE run_id = ?", (run_id,))
        return RunView.model_validate_json(row[0]) if row else None

    def claim_owner(self, key: str) -> ClaimRecord | None:
        row = self._db.fetchone("SELECT run_id, fingerprint FROM claims WHERE claim = ?", (key,))
        return ClaimRecord(key=key, run_id=row[0], fingerprint=row[1]) if row else None

    def list_views(self, org_id: str, query: RunQuery) -> list[RunView]:
        sql = "SELECT body FROM views WHERE org_id = ?"
        params: list[object] = [org_id]
        if query.statuses:
            sql += f" AND status IN ({','.join('?' * len(query.statuses))})"
            params += [s.value for s in query.statuses]
        if query.run_types:
            sql += f" AND run_type IN ({','.join('?' * len(query.run_types))})"
            params += [t.value for t in query.run_types]
        sql += " ORDER BY created_at DESC, run_id DESC"
        cursor = self._db.connection().execute(sql, params)
        skip = (query.page - 1) * query.page_size
        page: list[RunView] = []
        for (body,) in cursor:
            view = RunView.model_validate_json(body)
            if not query.matches(view):
                continue
            if skip:
                skip -= 1
                continue
            page.append(view)
            if len(page) >= query.page_size:
                break
        cursor.close()
        return page

    def unfinished_runs(self) -> list[tuple[str, RunStatus, str | None]]:
        """Every organization's runs that have not ended, oldest first, with their checkpoint."""
        rows = self._db.fetchall(
            "SELECT body FROM views WHERE status IN ('created', 'queued', 'running')"
            " ORDER BY created_at, run_id"
        )
        views = [RunView.model_validate_json(r[0]) for r in rows]
        return [(v.run_id, v.status, v.checkpoint_uri) for v in views]

    def get_artifact(self, artifact_id: str) -> ArtifactRecord | None:
        row = self._db.fetchone("SELECT body FROM artifacts WHERE artifact_id = ?", (artifact_id,))
        return ArtifactRecord.model_validate_json(row[0]) if row else None

    def list_artifacts(self, run_id: str) -> list[ArtifactRecord]:
        rows = self._db.fetchall("SELECT body FROM artifacts WHERE run_id = ? ORDER BY rowid", (run_id,))
        return [ArtifactRecord.model_validate_json(r[0]) for r in rows]
