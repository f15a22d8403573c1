"""The embedded session log: session events and views in the run database, beside the runs."""

from __future__ import annotations

from altostratus.adapters.sqlite_db import SQLiteDatabase
from altostratus.domain import sessions as s
from altostratus.ports.clock import Clock
from altostratus.ports.errors import SequenceConflictError
from altostratus.ports.session_log import PreparedSessionAppend, SessionLog

_SCHEMA = """
CREATE TABLE IF NOT EXISTS session_events (
    session_id TEXT NOT NULL,
    seq INTEGER NOT NULL,
    body TEXT NOT NULL,
    PRIMARY KEY (session_id, seq)
);
CREATE TABLE IF NOT EXISTS session_views (
    session_id TEXT PRIMARY KEY,
    org_id TEXT NOT NULL,
    created_at TEXT NOT NULL,
    version INTEGER NOT NULL,
    open INTEGER NOT NULL,
    body TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS session_views_open
    ON session_views (org_id, created_at DESC) WHERE open = 1
"""


class SQLiteSessionLog(SessionLog):
    def __init__(self, db: SQLiteDatabase, clock: Clock) -> None:
        super().__init__(clock)
        self._db = db
        db.ensure_schema("session_log", _SCHEMA)

    def get(self, session_id: str) -> s.SessionView | None:
        row = (
            self._db.connection()
            .execute("SELECT body FROM session_views WHERE session_id = ?", (session_id,))
            .fetchone()
        )
        return s.SessionView.model_validate_json(row[0]) if row else None

    def read(self, session_id: str) -> list[s.SessionEvent]:
        rows = (
            self._db.connection()
            .execute("SELECT body FROM session_events WHERE session_id = ? ORDER BY seq", (session_id,))
            .fetchall()
        )
        return [s.SESSION_EVENT_ADAPTER.validate_json(r[0]) for r in rows]

    def list_open(self, org_id: str) -> list[s.SessionView]:
        rows = (
            self._db.connection()
            .execute(
                "SELECT body FROM session_views WHERE org_id = ? AND open = 1"
                " ORDER BY created_at DESC, session_id DESC",
                (org_id,),
            )
            .fetchall()
        )
        return [s.SessionView.model_validate_json(r[0]) for r in rows]

    def open_sessions(self) -> list[s.SessionView]:
        rows = self._db.connection().execute("SELECT body FROM session_views WHERE open = 1").fetchall()
        return [s.SessionView.model_validate_json(r[0]) for r in rows]

    def _write(self, prepared: PreparedSessionAppend) -> None:
        with self._db.write() as conn:
            row = conn.execute(
                "SELECT version FROM session_views WHERE session_id = ?", (prepared.session_id,)
            ).fetchone()
            if (row[0] if row else 0) != prepared.expected_version:
                raise SequenceConflictError(prepared.session_id)
            conn.executemany(
                "INSERT INTO session_events (session_id, seq, body) VALUES (?, ?, ?)",
                [(e.session_id, e.seq, e.model_dump_json()) for e in prepared.events],
            )
            view = prepared.view
            conn.execute(
                "INSERT INTO session_views (session_id, org_id, created_at, version, open, body)"
                " VALUES (?, ?, ?, ?, ?, ?) ON CONFLICT (session_id) DO UPDATE SET"
                " version = excluded.version, open = excluded.open, body = excluded.body",
                (
                    view.session_id,
                    view.org_id,
                    view.created_at.isoformat(),
                    view.version,
                    0 if view.is_closed else 1,
                    view.model_dump_json(),
                ),
            )
