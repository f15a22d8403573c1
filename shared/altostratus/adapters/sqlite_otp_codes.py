"""The embedded one-time codes: a row per pushed code, indexed by organization, identifier
and time."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from altostratus.adapters.sqlite_db import SQLiteDatabase
from altostratus.ports.otp_codes import StoredOtpCode

_SCHEMA = """
CREATE TABLE IF NOT EXISTS otp_codes (
    totp_code_id TEXT PRIMARY KEY,
    org_id TEXT NOT NULL,
    identifier TEXT NOT NULL,
    created_at TEXT NOT NULL,
    sealed TEXT NOT NULL,
    expired_at TEXT,
    task_id TEXT,
    workflow_id TEXT,
    workflow_run_id TEXT,
    source TEXT,
    otp_type TEXT,
    status TEXT NOT NULL,
    used_by TEXT
);
CREATE INDEX IF NOT EXISTS otp_codes_by_identifier ON otp_codes (org_id, identifier, created_at)
"""

_COLUMNS = (
    "totp_code_id, org_id, identifier, created_at, sealed, expired_at, task_id, workflow_id,"
    " workflow_run_id, source, otp_type, status, used_by"
)


def _time(value: str | None) -> datetime | None:
    return datetime.fromisoformat(value) if value else None


def _row(row: Any) -> StoredOtpCode:
    created = _time(row[3])
    assert created is not None
    return StoredOtpCode(
        totp_code_id=row[0],
        org_id=row[1],
        identifier=row[2],
        created_at=created,
        sealed=row[4],
        expired_at=_time(row[5]),
        task_id=row[6],
        workflow_id=row[7],
        workflow_run_id=row[8],
        source=row[9],
        otp_type=row[10],
        status=row[11],
        used_by=row[12],
    )


class SQLiteOtpCodes:
    def __init__(self, db: SQLiteDatabase) -> None:
        self._db = db
        db.ensure_schema("otp_codes", _SCHEMA)

    def add(self, code: StoredOtpCode) -> None:
        with self._db.write() as conn:
            conn.execute(
                f"INSERT INTO otp_codes ({_COLUMNS}) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                (
                    code.totp_code_id,
                    code.org_id,
                    code.identifier,
                    code.created_at.isoformat(timespec="microseconds"),
                    code.sealed,
                    code.expired_at.isoformat(timespec="microseconds") if code.expired_at else None,
                    code.task_id,
                    code.workflow_id,
                    code.workflow_run_id,
                    code.source,
                    code.otp_type,
                    code.status,
                    code.used_by,
                ),
            )

    def recent(
        self, org_id: str, identifier: str, *, since: datetime, limit: int = 50
    ) -> list[StoredOtpCode]:
        rows = self._db.fetchall(
            f"SELECT {_COLUMNS} FROM otp_codes WHERE org_id = ? AND identifier = ? AND created_at >= ?"
            " ORDER BY created_at DESC, totp_code_id DESC LIMIT ?",
            (org_id, identifier, since.isoformat(timespec="microseconds"), limit),
        )
        return [_row(r) for r in rows]

    def mark_used(
        self, org_id: str, identifier: str, *, created_at: datetime, totp_code_id: str, run_id: str
    ) -> bool:
        with self._db.write() as conn:
            cursor = conn.execute(
                "UPDATE otp_codes SET used_by = ? WHERE totp_code_id = ? AND org_id = ? AND identifier = ?"
                " AND used_by IS NULL",
                (run_id, totp_code_id, org_id, identifier),
            )
            return cursor.rowcount == 1
