"""The embedded credential store: a row per credential, its values sealed."""

from __future__ import annotations

import dataclasses
import json
import sqlite3
from datetime import datetime
from typing import Any

from altostratus.adapters.sqlite_db import SQLiteDatabase
from altostratus.ports.credentials import StoredCredential
from altostratus.ports.errors import IntegrityError, SequenceConflictError

_SCHEMA = """
CREATE TABLE IF NOT EXISTS credentials (
    credential_id TEXT PRIMARY KEY,
    org_id TEXT NOT NULL,
    name TEXT NOT NULL,
    credential_type TEXT NOT NULL,
    created_at TEXT NOT NULL,
    modified_at TEXT NOT NULL,
    sealed TEXT NOT NULL,
    shown TEXT NOT NULL,
    tested_url TEXT,
    version INTEGER NOT NULL
);
CREATE INDEX IF NOT EXISTS credentials_by_org ON credentials (org_id, created_at)
"""

_COLUMNS = (
    "credential_id, org_id, name, credential_type, created_at, modified_at, sealed, shown, tested_url,"
    " version"
)


def _values(c: StoredCredential) -> tuple[Any, ...]:
    return (
        c.credential_id,
        c.org_id,
        c.name,
        c.credential_type,
        c.created_at.isoformat(timespec="microseconds"),
        c.modified_at.isoformat(timespec="microseconds"),
        c.sealed,
        json.dumps(c.shown),
        c.tested_url,
        c.version,
    )


def _row(row: Any) -> StoredCredential:
    return StoredCredential(
        credential_id=row[0],
        org_id=row[1],
        name=row[2],
        credential_type=row[3],
        created_at=datetime.fromisoformat(row[4]),
        modified_at=datetime.fromisoformat(row[5]),
        sealed=row[6],
        shown=json.loads(row[7]),
        tested_url=row[8],
        version=int(row[9]),
    )


class SQLiteCredentialStore:
    def __init__(self, db: SQLiteDatabase) -> None:
        self._db = db
        db.ensure_schema("credentials", _SCHEMA)

    def create(self, credential: StoredCredential) -> None:
        stored = dataclasses.replace(credential, version=1)
        try:
            with self._db.write() as conn:
                conn.execute(
                    f"INSERT INTO credentials ({_COLUMNS}) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                    _values(stored),
                )
        except sqlite3.IntegrityError as exc:
            raise IntegrityError(f"the credential {credential.credential_id} exists already") from exc

    def get(self, org_id: str, credential_id: str) -> StoredCredential | None:
        rows = self._db.fetchall(
            f"SELECT {_COLUMNS} FROM credentials WHERE credential_id = ? AND org_id = ?",
            (credential_id, org_id),
        )
        return _row(rows[0]) if rows else None

    def list(self, org_id: str, *, offset: int = 0, limit: int = 10) -> list[StoredCredential]:
        rows = self._db.fetchall(
            f"SELECT {_COLUMNS} FROM credentials WHERE org_id = ?"
            " ORDER BY created_at DESC, credential_id DESC LIMIT ? OFFSET ?",
            (org_id, limit, offset),
        )
        return [_row(r) for r in rows]

    def replace(self, credential: StoredCredential, *, expected_version: int) -> StoredCredential:
        stored = dataclasses.replace(credential, version=expected_version + 1)
        with self._db.write() as conn:
            cursor = conn.execute(
                "UPDATE credentials SET name = ?, credential_type = ?, modified_at = ?, sealed = ?,"
                " shown = ?, tested_url = ?, version = ?"
                " WHERE credential_id = ? AND org_id = ? AND version = ?",
                (
                    stored.name,
                    stored.credential_type,
                    stored.modified_at.isoformat(timespec="microseconds"),
                    stored.sealed,
                    json.dumps(stored.shown),
                    stored.tested_url,
                    stored.version,
                    stored.credential_id,
                    stored.org_id,
                    expected_version,
                ),
            )
            if cursor.rowcount != 1:
                raise SequenceConflictError(f"the credential {credential.credential_id} changed meanwhile")
        return stored

    def delete(self, org_id: str, credential_id: str) -> bool:
        with self._db.write() as conn:
            cursor = conn.execute(
                "DELETE FROM credentials WHERE credential_id = ? AND org_id = ?", (credential_id, org_id)
            )
            return cursor.rowcount == 1
