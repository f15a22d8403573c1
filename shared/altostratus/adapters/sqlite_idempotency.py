"""Powertools idempotency records in SQLite, so the embedded runtime deduplicates submissions
with the same library and semantics as DynamoDB on AWS (expiry, in-progress locks, payload
validation)."""

from __future__ import annotations

import time
from typing import Any

from aws_lambda_powertools.utilities.idempotency import BasePersistenceLayer
from aws_lambda_powertools.utilities.idempotency.exceptions import (
    IdempotencyItemAlreadyExistsError,
    IdempotencyItemNotFoundError,
)
from aws_lambda_powertools.utilities.idempotency.persistence.datarecord import DataRecord

from altostratus.adapters.sqlite_db import SQLiteDatabase

_SCHEMA = """
CREATE TABLE IF NOT EXISTS idempotency (
    key TEXT PRIMARY KEY,
    status TEXT NOT NULL,
    expiry INTEGER NOT NULL,
    in_progress_expiry INTEGER,
    data TEXT,
    validation TEXT
)
"""

_SELECT = "SELECT key, status, expiry, in_progress_expiry, data, validation FROM idempotency WHERE key = ?"


class SQLitePersistenceLayer(BasePersistenceLayer):
    def __init__(self, db: SQLiteDatabase) -> None:
        super().__init__()  # type: ignore[no-untyped-call]
        self._db = db
        db.ensure_schema("idempotency", _SCHEMA)

    def _get_record(self, idempotency_key: str) -> DataRecord:
        row = (
            self._db.connection()
            .execute(
                _SELECT,
                (idempotency_key,),
            )
            .fetchone()
        )
        if row is None:
            raise IdempotencyItemNotFoundError
        return _record(row)

    def _put_record(self, data_record: DataRecord) -> None:
        now = time.time()
        with self._db.write() as conn:
            row = conn.execute(
                _SELECT,
                (data_record.idempotency_key,),
            ).fetchone()
            if row is not None:
                old = _record(row)
                # The same three ways in as the DynamoDB layer's condition: no record, an expired
                # record, or an in-progress lock whose holder ran out of time.
                expired = old.expiry_timestamp is not None and old.expiry_timestamp < now
                lock_lapsed = (
                    old.status == "INPROGRESS"
                    and old.in_progress_expiry_timestamp is not None
                    and old.in_progress_expiry_timestamp < now * 1000
                )
                if not (expired or lock_lapsed):
                    # Raises IdempotencyValidationError when the same key comes with another payload.
                    self._validate_payload(data_payload=data_record, stored_data_record=old)
                    raise IdempotencyItemAlreadyExistsError(old_data_record=old)
            conn.execute(
                "INSERT OR REPLACE INTO idempotency"
                " (key, status, expiry, in_progress_expiry, data, validation) VALUES (?, ?, ?, ?, ?, ?)",
                (
                    data_record.idempotency_key,
                    data_record.status,
                    data_record.expiry_timestamp,
                    data_record.in_progress_expiry_timestamp,
                    data_record.response_data,
                    data_record.payload_hash if self.payload_validation_enabled else None,
                ),
            )

    def _update_record(self, data_record: DataRecord) -> None:
        with self._db.write() as conn:
            conn.execute(
                "UPDATE idempotency SET status = ?, expiry = ?, data = ?, validation = ? WHERE key = ?",
                (
                    data_record.status,
                    data_record.expiry_timestamp,
                    data_record.response_data,
                    data_record.payload_hash if self.payload_validation_enabled else None,
                    data_record.idempotency_key,
                ),
            )

    def release_in_progress(self) -> int:
        """Drop every in-progress lock; returns how many. Only for the one process that owns
        the database (it holds the data directory's lock), at start: such locks belong to a
        process that died mid-request, and its retried requests should not wait them out.
        (A submission's run is bound to its key in the same write that creates the run, so a
        retry finds that run rather than creating another.)"""
        with self._db.write() as conn:
            return conn.execute("DELETE FROM idempotency WHERE status = 'INPROGRESS'").rowcount

    def _delete_record(self, data_record: DataRecord) -> None:
        with self._db.write() as conn:
            conn.execute("DELETE FROM idempotency WHERE key = ?", (data_record.idempotency_key,))


def _record(row: Any) -> DataRecord:
    key, status, expiry, in_progress_expiry, data, validation = row
    return DataRecord(
        idempotency_key=key,
        status=status,
        expiry_timestamp=expiry,
        in_progress_expiry_timestamp=in_progress_expiry,
        response_data=data or "",
        payload_hash=validation or "",
    )
