"""The embedded event log: SQLite (WAL), events + views + artifact index in one transaction."""

from __future__ import annotations

import sqlite3
from collections.abc import Sequence

from altostratus.adapters.sqlite_db import SQLiteDatabase
from altostratus.domain import events as ev
from altostratus.domain.artifacts import ArtifactRecord
from altostratus.domain.enums import RunStatus
from altostratus.domain.run_summary import RunSummary, search_keys
from altostratus.domain.view import RunView
from altostratus.ports.clock import Clock
from altostratus.ports.errors import ClaimTakenError, SequenceConflictError
from altostratus.ports.event_log import (
    AppendResult,
    Claim,
    ClaimRecord,
    DuplicateEventError,
    EventLog,
    ListPosition,
    PreparedAppend,
    RunPage,
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
    title_key TEXT NOT NULL DEFAULT '',
    prompt_key TEXT NOT NULL DEFAULT '',
    summary TEXT,
    body TEXT NOT NULL
);
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
);
CREATE TABLE IF NOT EXISTS schema_migrations (name TEXT PRIMARY KEY)
"""

# Listing reads these indexes only, up to the page's rows: the filter columns are in the
# index, so neither skipping to a deep page nor filtering touches a view's body.
_LISTING_INDEXES = """
DROP INDEX IF EXISTS views_by_org;
CREATE INDEX IF NOT EXISTS views_listing
    ON views (org_id, created_at DESC, run_id DESC, status, run_type, title_key, prompt_key);
CREATE INDEX IF NOT EXISTS views_by_status ON views (org_id, status, created_at DESC, run_id DESC);
CREATE INDEX IF NOT EXISTS views_by_title ON views (org_id, title_key);
CREATE INDEX IF NOT EXISTS views_by_prompt ON views (org_id, prompt_key)
"""
# Databases written before listing had its own columns get them, filled from each view.
_LISTING_COLUMNS = {
    "title_key": "TEXT NOT NULL DEFAULT ''",
    "prompt_key": "TEXT NOT NULL DEFAULT ''",
    "summary": "TEXT",
}
_LISTING_MIGRATION = "views.listing_columns"

# Greater than any character a normalized title or prompt continues a prefix with.
_LAST_CHAR = "\U0010ffff"
# A search matching fewer runs than this sorts its matches; one matching more walks the
# organization's runs in order, testing each, since matches are then dense enough to soon
# fill a page.
_FEW_MATCHES = 500


def _listing_columns(view: RunView) -> tuple[str, str, str, str]:
    """title_key, prompt_key, summary and run_id of a view's row."""
    title_key, prompt_key = search_keys(view)
    return title_key, prompt_key, RunSummary.of(view).model_dump_json(), view.run_id


class SQLiteEventLog(EventLog):
    """Appends hold SQLite's write lock from the read of the view to the commit, so writers on
    one database queue rather than conflict; `expected_version` is still honoured."""

    def __init__(self, db: SQLiteDatabase, clock: Clock) -> None:
        super().__init__(clock)
        self._db = db
        db.ensure_schema("event_log", _SCHEMA)
        self._migrate_listing()
        db.ensure_schema("event_log.listing", _LISTING_INDEXES)

    def _migrate_listing(self) -> None:
        """Add the listing columns to an older database and fill them from the stored views."""
        done = "SELECT 1 FROM schema_migrations WHERE name = ?"
        if self._db.connection().execute(done, (_LISTING_MIGRATION,)).fetchone():
            return
        with self._db.write() as conn:
            if conn.execute(done, (_LISTING_MIGRATION,)).fetchone():
                return  # another process migrated while this one waited for the lock
            have = {row[1] for row in conn.execute("PRAGMA table_info(views)")}
            for name, declaration in _LISTING_COLUMNS.items():
                if name not in have:
                    conn.execute(f"ALTER TABLE views ADD COLUMN {name} {declaration}")
            missing = [r[0] for r in conn.execute("SELECT run_id FROM views WHERE summary IS NULL")]
            for start in range(0, len(missing), 500):
                batch = missing[start : start + 500]
                marks = ",".join("?" * len(batch))
                rows = conn.execute(f"SELECT body FROM views WHERE run_id IN ({marks})", batch).fetchall()
                conn.executemany(
                    "UPDATE views SET title_key = ?, prompt_key = ?, summary = ? WHERE run_id = ?",
                    [_listing_columns(RunView.model_validate_json(body)) for (body,) in rows],
                )
            conn.execute("INSERT INTO schema_migrations (name) VALUES (?)", (_LISTING_MIGRATION,))

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
        title_key, prompt_key, summary, _ = _listing_columns(view)
        conn.execute(
            "INSERT INTO views (run_id, org_id, created_at, status, run_type, version, title_key,"
            " prompt_key, summary, body) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)"
            " ON CONFLICT (run_id) DO UPDATE SET status = excluded.status, version = excluded.version,"
            " summary = excluded.summary, body = excluded.body",
            (
                view.run_id,
                view.org_id,
                view.created_at.isoformat(),
                view.status.value,
                view.run_type.value,
                view.version,
                title_key,
                prompt_key,
                summary,
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

    def list_runs(self, org_id: str, query: RunQuery) -> RunPage:
        conn = self._db.connection()
        where = ["views.org_id = ?"]
        params: list[object] = [org_id]
        if query.statuses:
            where.append(f"views.status IN ({','.join('?' * len(query.statuses))})")
            params += [s.value for s in query.statuses]
        if query.run_types:
            where.append(f"views.run_type IN ({','.join('?' * len(query.run_types))})")
            params += [t.value for t in query.run_types]
        after = query.after
        if after is not None:
            where.append("(views.created_at, views.run_id) < (?, ?)")
            params += [after.created_at.isoformat(), after.run_id]
        source, matched = "views", ""
        prefix, run_id = query.search_prefix, query.search_id
        ranges = [(column, prefix, prefix + _LAST_CHAR) for column in ("title_key", "prompt_key") if prefix]
        if ranges and self._matches_at_least(conn, org_id, ranges, _FEW_MATCHES):
            # Many runs match: walk the organization's runs newest first (the listing index holds
            # the search columns), which soon fills a page.
            tests = ["views.run_id = ?", *(f"(views.{c} >= ? AND views.{c} < ?)" for c, _, _ in ranges)]
            where.append(f"({' OR '.join(tests)})")
            params += [run_id, *(bound for _, low, high in ranges for bound in (low, high))]
            source = "views INDEXED BY views_listing"
        elif prefix or run_id:
            # Few match: gather them from the title and prompt indexes and the id, then order
            # only those.
            branches = ["SELECT run_id FROM views WHERE run_id = ? AND org_id = ?"]
            found: list[object] = [run_id, org_id]
            for column, low, high in ranges:
                branches.append(
                    f"SELECT run_id FROM views WHERE org_id = ? AND {column} >= ? AND {column} < ?"
                )
                found += [org_id, low, high]
            matched = f"WITH matched (run_id) AS MATERIALIZED ({' UNION '.join(branches)}) "
            source = "matched CROSS JOIN views ON views.run_id = matched.run_id"
            params = found + params
        sql = (
            f"{matched}SELECT views.summary FROM {source} WHERE {' AND '.join(where)}"
            " ORDER BY views.created_at DESC, views.run_id DESC LIMIT ? OFFSET ?"
        )
        # One row more than the page says whether another page follows.
        rows = conn.execute(sql, [*params, query.page_size + 1, query.offset]).fetchall()
        runs = tuple(RunSummary.model_validate_json(r[0]) for r in rows[: query.page_size])
        more = len(rows) > query.page_size
        return RunPage(runs=runs, next_cursor=ListPosition.of(runs[-1]).encode() if more else None)

    @staticmethod
    def _matches_at_least(
        conn: sqlite3.Connection, org_id: str, ranges: list[tuple[str, str, str]], enough: int
    ) -> bool:
        """Whether the prefix ranges hold `enough` runs, counting no further (index only)."""
        count = 0
        for column, low, high in ranges:
            sql = (
                "SELECT COUNT(*) FROM (SELECT 1 FROM views"
                f" WHERE org_id = ? AND {column} >= ? AND {column} < ? LIMIT ?)"
            )
            count += conn.execute(sql, (org_id, low, high, enough - count)).fetchone()[0]
            if count >= enough:
                return True
        return False

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
