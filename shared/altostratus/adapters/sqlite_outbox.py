"""The embedded outbox's cursor: how far the event log has been published, in the same SQLite
database as the log, so it survives restarts with it."""

from __future__ import annotations

from altostratus.adapters.sqlite_db import SQLiteDatabase

_SCHEMA = """
CREATE TABLE IF NOT EXISTS outbox_cursors (
    name TEXT PRIMARY KEY,
    gseq INTEGER NOT NULL
)
"""


class SQLiteOutboxCursor:
    def __init__(self, db: SQLiteDatabase, *, name: str = "bus") -> None:
        self._db = db
        self._name = name
        db.ensure_schema("outbox", _SCHEMA)

    def position(self) -> int:
        row = (
            self._db.connection()
            .execute("SELECT gseq FROM outbox_cursors WHERE name = ?", (self._name,))
            .fetchone()
        )
        return int(row[0]) if row else 0

    def advance(self, gseq: int) -> None:
        with self._db.write() as conn:
            # MAX(): a cursor never moves backwards, even if two publishers raced.
            conn.execute(
                "INSERT INTO outbox_cursors (name, gseq) VALUES (?, ?)"
                " ON CONFLICT (name) DO UPDATE SET gseq = MAX(gseq, excluded.gseq)",
                (self._name, gseq),
            )
