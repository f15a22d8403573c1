"""The embedded run slots: a row per held slot and per place in line, under the database's
write lock."""

from __future__ import annotations

from datetime import UTC, datetime

from altostratus.adapters.sqlite_db import SQLiteDatabase
from altostratus.ports.clock import Clock
from altostratus.ports.run_slots import AHEAD_COUNTED, SlotAnswer, SlotLease

_SCHEMA = """
CREATE TABLE IF NOT EXISTS run_slots (
    org_id TEXT NOT NULL,
    slot INTEGER NOT NULL,
    run_id TEXT NOT NULL,
    expires_at REAL NOT NULL,
    PRIMARY KEY (org_id, slot)
);
CREATE TABLE IF NOT EXISTS run_slot_line (
    org_id TEXT NOT NULL,
    run_id TEXT NOT NULL,
    since TEXT NOT NULL,
    expires_at REAL NOT NULL,
    PRIMARY KEY (org_id, run_id)
);
CREATE INDEX IF NOT EXISTS run_slot_line_order ON run_slot_line (org_id, since, run_id)
"""


class SQLiteRunSlots:
    def __init__(self, db: SQLiteDatabase, clock: Clock) -> None:
        self._db = db
        self._clock = clock
        db.ensure_schema("run_slots", _SCHEMA)

    def acquire(
        self, org_id: str, run_id: str, *, cap: int, lease_s: float, since: datetime, wait_s: float
    ) -> SlotAnswer:
        now = self._clock.now().timestamp()
        with self._db.write() as conn:
            rows = conn.execute(
                "SELECT slot, run_id, expires_at FROM run_slots WHERE org_id = ?", (org_id,)
            ).fetchall()
            slot = next((n for n, holder, _ in rows if holder == run_id), None)
            ahead = 0
            if slot is None:
                busy = {n for n, _, expires in rows if expires > now}
                ahead = conn.execute(
                    "SELECT COUNT(*) FROM (SELECT 1 FROM run_slot_line WHERE org_id = ? AND expires_at > ?"
                    " AND (since, run_id) < (?, ?) LIMIT ?)",
                    (org_id, now, since.isoformat(), run_id, AHEAD_COUNTED),
                ).fetchone()[0]
                # Runs past a lowered cap still count, so none starts until enough have ended.
                if len(busy) + ahead < cap:
                    slot = next((n for n in range(cap) if n not in busy), None)
            if slot is None:
                conn.execute(
                    "INSERT INTO run_slot_line (org_id, run_id, since, expires_at) VALUES (?, ?, ?, ?)"
                    " ON CONFLICT (org_id, run_id) DO UPDATE SET expires_at = excluded.expires_at",
                    (org_id, run_id, since.isoformat(), now + wait_s),
                )
                return SlotAnswer(admitted=False, ahead=ahead)
            conn.execute(
                "INSERT INTO run_slots (org_id, slot, run_id, expires_at) VALUES (?, ?, ?, ?)"
                " ON CONFLICT (org_id, slot) DO UPDATE SET run_id = excluded.run_id,"
                " expires_at = excluded.expires_at",
                (org_id, slot, run_id, now + lease_s),
            )
            conn.execute("DELETE FROM run_slot_line WHERE org_id = ? AND run_id = ?", (org_id, run_id))
            return SlotAnswer(admitted=True)

    def release(self, org_id: str, run_id: str, *, since: datetime) -> None:
        with self._db.write() as conn:
            conn.execute("DELETE FROM run_slots WHERE org_id = ? AND run_id = ?", (org_id, run_id))
            conn.execute("DELETE FROM run_slot_line WHERE org_id = ? AND run_id = ?", (org_id, run_id))

    def holders(self, org_id: str) -> list[SlotLease]:
        rows = (
            self._db.connection()
            .execute(
                "SELECT slot, run_id, expires_at FROM run_slots WHERE org_id = ? AND expires_at > ?"
                " ORDER BY slot",
                (org_id, self._clock.now().timestamp()),
            )
            .fetchall()
        )
        return [SlotLease(org_id, n, run, datetime.fromtimestamp(expires, UTC)) for n, run, expires in rows]

    def waiting(self, org_id: str) -> list[str]:
        rows = (
            self._db.connection()
            .execute(
                "SELECT run_id FROM run_slot_line WHERE org_id = ? AND expires_at > ? ORDER BY since, run_id",
                (org_id, self._clock.now().timestamp()),
            )
            .fetchall()
        )
        return [r[0] for r in rows]
