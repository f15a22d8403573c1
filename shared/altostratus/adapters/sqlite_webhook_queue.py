"""The embedded webhook queue: deliveries not yet finished, with the time each is next due.

It plays the part SQS plays on AWS. A row is added (idempotently, keyed by the delivery id)
when the bus carries a run's terminal event, rescheduled after each failed attempt and removed
when the delivery ends; rows outlive restarts, so retries continue where they stopped. How many
attempts were made is not stored here: the run's event log is the record of that.
"""

from __future__ import annotations

from collections.abc import Collection

from altostratus.adapters.sqlite_db import SQLiteDatabase
from altostratus.ports.webhook_queue import PendingDelivery

_SCHEMA = """
CREATE TABLE IF NOT EXISTS webhook_queue (
    delivery_id TEXT PRIMARY KEY,
    run_id TEXT NOT NULL,
    due_at REAL NOT NULL,
    errors INTEGER NOT NULL DEFAULT 0
);
CREATE INDEX IF NOT EXISTS webhook_queue_by_due ON webhook_queue (due_at)
"""


class SQLiteWebhookQueue:
    def __init__(self, db: SQLiteDatabase) -> None:
        self._db = db
        db.ensure_schema("webhook_queue", _SCHEMA)

    def enqueue(self, delivery_id: str, run_id: str, *, due_at: float) -> None:
        with self._db.write() as conn:
            conn.execute(
                "INSERT INTO webhook_queue (delivery_id, run_id, due_at) VALUES (?, ?, ?)"
                " ON CONFLICT (delivery_id) DO NOTHING",
                (delivery_id, run_id, due_at),
            )

    def due(self, now: float, *, limit: int, exclude: Collection[str] = ()) -> list[PendingDelivery]:
        rows = (
            self._db.connection()
            .execute(
                "SELECT delivery_id, run_id, due_at, errors FROM webhook_queue"
                " WHERE due_at <= ? ORDER BY due_at LIMIT ?",
                (now, limit + len(exclude)),
            )
            .fetchall()
        )
        pending = [PendingDelivery(r[0], r[1], r[2], r[3]) for r in rows if r[0] not in exclude]
        return pending[:limit]

    def reschedule(self, delivery_id: str, *, due_at: float, error: bool = False) -> None:
        with self._db.write() as conn:
            conn.execute(
                "UPDATE webhook_queue SET due_at = ?, errors = CASE WHEN ? THEN errors + 1 ELSE 0 END"
                " WHERE delivery_id = ?",
                (due_at, error, delivery_id),
            )

    def complete(self, delivery_id: str) -> None:
        with self._db.write() as conn:
            conn.execute("DELETE FROM webhook_queue WHERE delivery_id = ?", (delivery_id,))

    def size(self) -> int:
        row = self._db.connection().execute("SELECT COUNT(*) FROM webhook_queue").fetchone()
        return int(row[0])
