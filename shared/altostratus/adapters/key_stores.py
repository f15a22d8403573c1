"""Key stores: SQLite (embedded) and DynamoDB (the state table), sharing the sealing logic."""

from __future__ import annotations

import sqlite3
from datetime import UTC, datetime, timedelta
from typing import Any

from botocore.exceptions import BotoCoreError, ClientError

from altostratus.adapters.dynamodb_errors import canceled, refused, unavailable
from altostratus.adapters.sealing import Sealer
from altostratus.adapters.sqlite_db import SQLiteDatabase
from altostratus.domain.ids import IdFactory
from altostratus.domain.keys import (
    ApiKeyRecord,
    KeyRevokedError,
    Organization,
    Principal,
    UnknownKeyError,
    hash_key,
    new_key,
)
from altostratus.ports.clock import Clock
from altostratus.ports.errors import IntegrityError, StoreUnavailableError


class _KeyStoreBase:
    def __init__(self, sealer: Sealer, ids: IdFactory, clock: Clock) -> None:
        self._sealer = sealer
        self._ids = ids
        self._clock = clock

    def _new_record(self, org_id: str, label: str | None) -> tuple[ApiKeyRecord, str]:
        raw = new_key()
        key_id = self._ids.new("key")
        record = ApiKeyRecord(
            key_id=key_id,
            org_id=org_id,
            key_hash=hash_key(raw),
            sealed_key=self._sealer.seal(raw, context=key_id),
            hint=raw[-4:],
            label=label,
            created_at=self._clock.now(),
        )
        return record, raw

    def _unseal(self, record: ApiKeyRecord) -> str:
        return self._sealer.unseal(record.sealed_key, context=record.key_id)

    def _principal(self, record: ApiKeyRecord | None) -> Principal | None:
        if record is None or not record.active_at(self._clock.now()):
            return None
        return Principal(org_id=record.org_id, key_id=record.key_id, key_expires_at=record.revoked_at)


_SCHEMA = """
CREATE TABLE IF NOT EXISTS orgs (org_id TEXT PRIMARY KEY, name TEXT NOT NULL UNIQUE, body TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS api_keys (
    key_id TEXT PRIMARY KEY,
    key_hash TEXT NOT NULL UNIQUE,
    org_id TEXT NOT NULL REFERENCES orgs (org_id),
    body TEXT NOT NULL
)
"""


class SQLiteKeyStore(_KeyStoreBase):
    """Revocation and last use live in the key's body; every change is a read and a write in
    one write transaction, so concurrent changes (a revoke and a use) never undo each other."""

    def __init__(self, db: SQLiteDatabase, sealer: Sealer, ids: IdFactory, clock: Clock) -> None:
        super().__init__(sealer, ids, clock)
        self._db = db
        db.ensure_schema("keys", _SCHEMA)

    def create_org(self, name: str) -> Organization:
        org = Organization(org_id=self._ids.new("o"), name=name, created_at=self._clock.now())
        try:
            with self._db.write() as conn:
                conn.execute(
                    "INSERT INTO orgs (org_id, name, body) VALUES (?, ?, ?)",
                    (org.org_id, name, org.model_dump_json()),
                )
        except IntegrityError as exc:
            raise ValueError(f"an organization named {name!r} already exists") from exc
        return org

    def org_by_name(self, name: str) -> Organization | None:
        row = self._db.connection().execute("SELECT body FROM orgs WHERE name = ?", (name,)).fetchone()
        return Organization.model_validate_json(row[0]) if row else None

    def get_org(self, org_id: str) -> Organization | None:
        row = self._db.connection().execute("SELECT body FROM orgs WHERE org_id = ?", (org_id,)).fetchone()
        return Organization.model_validate_json(row[0]) if row else None

    def list_orgs(self) -> list[Organization]:
        rows = self._db.connection().execute("SELECT body FROM orgs ORDER BY org_id").fetchall()
        return [Organization.model_validate_json(r[0]) for r in rows]

    def create_key(self, org_id: str, *, label: str | None = None) -> tuple[ApiKeyRecord, str]:
        record, raw = self._new_record(org_id, label)
        with self._db.write() as conn:
            self._insert(conn, record)
        return record, raw

    def authenticate(self, raw_key: str) -> Principal | None:
        row = (
            self._db.connection()
            .execute("SELECT body FROM api_keys WHERE key_hash = ?", (hash_key(raw_key),))
            .fetchone()
        )
        return self._principal(ApiKeyRecord.model_validate_json(row[0]) if row else None)

    def signing_key(self, key_id: str) -> str | None:
        record = self.get_key(key_id)
        return self._unseal(record) if record else None

    def get_key(self, key_id: str) -> ApiKeyRecord | None:
        return self._read(self._db.connection(), key_id)

    def list_keys(self, org_id: str | None = None) -> list[ApiKeyRecord]:
        conn = self._db.connection()
        if org_id is None:
            rows = conn.execute("SELECT body FROM api_keys ORDER BY key_id").fetchall()
        else:
            rows = conn.execute(
                "SELECT body FROM api_keys WHERE org_id = ? ORDER BY key_id", (org_id,)
            ).fetchall()
        return [ApiKeyRecord.model_validate_json(r[0]) for r in rows]

    def revoke_key(self, key_id: str) -> ApiKeyRecord:
        with self._db.write() as conn:
            record = self._read(conn, key_id)
            if record is None:
                raise UnknownKeyError(key_id)
            now = self._clock.now()
            if record.revoked_at is None or record.revoked_at > now:
                record = record.model_copy(update={"revoked_at": now})
                self._update(conn, record)
        return record

    def rotate_key(self, key_id: str, *, grace_seconds: float = 0) -> tuple[ApiKeyRecord, str]:
        with self._db.write() as conn:
            old = self._read(conn, key_id)
            if old is None:
                raise UnknownKeyError(key_id)
            if old.revoked_at is not None:
                raise KeyRevokedError(key_id)
            record, raw = self._new_record(old.org_id, old.label)
            self._insert(conn, record)
            until = record.created_at + timedelta(seconds=grace_seconds)
            self._update(conn, old.model_copy(update={"revoked_at": until}))
        return record, raw

    def record_use(self, key_id: str, at: datetime) -> None:
        with self._db.write() as conn:
            record = self._read(conn, key_id)
            if record is not None and (record.last_used_at is None or record.last_used_at < at):
                self._update(conn, record.model_copy(update={"last_used_at": at}))

    @staticmethod
    def _read(conn: sqlite3.Connection, key_id: str) -> ApiKeyRecord | None:
        row = conn.execute("SELECT body FROM api_keys WHERE key_id = ?", (key_id,)).fetchone()
        return ApiKeyRecord.model_validate_json(row[0]) if row else None

    @staticmethod
    def _insert(conn: sqlite3.Connection, record: ApiKeyRecord) -> None:
        conn.execute(
            "INSERT INTO api_keys (key_id, key_hash, org_id, body) VALUES (?, ?, ?, ?)",
            (record.key_id, record.key_hash, record.org_id, record.model_dump_json()),
        )

    @staticmethod
    def _update(conn: sqlite3.Connection, record: ApiKeyRecord) -> None:
        conn.execute(
            "UPDATE api_keys SET body = ? WHERE key_id = ?", (record.model_dump_json(), record.key_id)
        )


def _stamp(moment: datetime) -> dict[str, str]:
    # Fixed width, so DynamoDB's string comparisons in conditions order them as times.
    return {"S": moment.astimezone(UTC).isoformat(timespec="microseconds")}


class DynamoDBKeyStore(_KeyStoreBase):
    """Items in the state table: `key#<hash>`/`key`, `keyid#<id>`/`key` (same body),
    `org#<id>`/`org`, `orgname#<name>`/`org` — each with a uniqueness condition.

    A key's body never changes after it is written; `revoked_at` (on both key items: the
    hash item authenticates, the id item lists) and `last_used_at` (id item) are attributes
    beside it, set by conditional updates so a use never undoes a revocation."""

    def __init__(
        self, client: Any, *, state_table: str, sealer: Sealer, ids: IdFactory, clock: Clock
    ) -> None:
        super().__init__(sealer, ids, clock)
        self._ddb = client
        self._table = state_table

    def create_org(self, name: str) -> Organization:
        org = Organization(org_id=self._ids.new("o"), name=name, created_at=self._clock.now())
        body = {"S": org.model_dump_json()}
        try:
            self._ddb.transact_write_items(
                TransactItems=[
                    self._put(f"orgname#{name}", "org", body, unique=True),
                    self._put(f"org#{org.org_id}", "org", body, unique=True),
                ]
            )
        except ClientError as exc:
            if canceled(exc):
                raise ValueError(f"an organization named {name!r} already exists") from exc
            raise unavailable(exc) from exc
        return org

    def org_by_name(self, name: str) -> Organization | None:
        item = self._get(f"orgname#{name}", "org")
        return Organization.model_validate_json(item["body"]["S"]) if item else None

    def get_org(self, org_id: str) -> Organization | None:
        item = self._get(f"org#{org_id}", "org")
        return Organization.model_validate_json(item["body"]["S"]) if item else None

    def list_orgs(self) -> list[Organization]:
        items = self._scan("begins_with(pk, :p) AND sk = :s", {":p": {"S": "org#"}, ":s": {"S": "org"}})
        orgs = [Organization.model_validate_json(i["body"]["S"]) for i in items]
        return sorted(orgs, key=lambda o: o.org_id)

    def create_key(self, org_id: str, *, label: str | None = None) -> tuple[ApiKeyRecord, str]:
        record, raw = self._new_record(org_id, label)
        try:
            self._ddb.transact_write_items(TransactItems=self._key_puts(record))
        except (ClientError, BotoCoreError) as exc:
            raise unavailable(exc) from exc
        return record, raw

    def authenticate(self, raw_key: str) -> Principal | None:
        item = self._get(f"key#{hash_key(raw_key)}", "key")
        return self._principal(_record(item) if item else None)

    def signing_key(self, key_id: str) -> str | None:
        record = self.get_key(key_id)
        return self._unseal(record) if record else None

    def get_key(self, key_id: str) -> ApiKeyRecord | None:
        item = self._get(f"keyid#{key_id}", "key")
        return _record(item) if item else None

    def list_keys(self, org_id: str | None = None) -> list[ApiKeyRecord]:
        # Keys are few per deployment; a filtered scan keeps the table free of another index.
        values: dict[str, Any] = {":p": {"S": "keyid#"}}
        condition = "begins_with(pk, :p)"
        if org_id is not None:
            condition += " AND key_org = :o"
            values[":o"] = {"S": org_id}
        return sorted((_record(i) for i in self._scan(condition, values)), key=lambda r: r.key_id)

    def revoke_key(self, key_id: str) -> ApiKeyRecord:
        record = self.get_key(key_id)
        if record is None:
            raise UnknownKeyError(key_id)
        now = self._clock.now()
        if record.revoked_at is not None and record.revoked_at <= now:
            return record
        # Only ever moves the revocation earlier (a rotated key's grace period ends now).
        condition = "attribute_exists(pk) AND (attribute_not_exists(revoked_at) OR revoked_at > :t)"
        try:
            self._ddb.transact_write_items(TransactItems=self._revocations(record, now, condition))
        except ClientError as exc:
            if not canceled(exc):
                raise unavailable(exc) from exc
            current = self.get_key(key_id)  # revoked meanwhile by another caller, earlier
            if current is None or current.revoked_at is None:
                raise StoreUnavailableError("DynamoDB refused the revocation") from exc
            return current
        except BotoCoreError as exc:
            raise unavailable(exc) from exc
        return record.model_copy(update={"revoked_at": now})

    def rotate_key(self, key_id: str, *, grace_seconds: float = 0) -> tuple[ApiKeyRecord, str]:
        old = self.get_key(key_id)
        if old is None:
            raise UnknownKeyError(key_id)
        if old.revoked_at is not None:
            raise KeyRevokedError(key_id)
        record, raw = self._new_record(old.org_id, old.label)
        until = record.created_at + timedelta(seconds=grace_seconds)
        condition = "attribute_exists(pk) AND attribute_not_exists(revoked_at)"
        try:
            self._ddb.transact_write_items(
                TransactItems=[*self._key_puts(record), *self._revocations(old, until, condition)]
            )
        except ClientError as exc:
            if canceled(exc):
                current = self.get_key(key_id)
                if current is not None and current.revoked_at is not None:
                    raise KeyRevokedError(key_id) from exc
            raise unavailable(exc) from exc
        except BotoCoreError as exc:
            raise unavailable(exc) from exc
        return record, raw

    def record_use(self, key_id: str, at: datetime) -> None:
        try:
            self._ddb.update_item(
                TableName=self._table,
                Key={"pk": {"S": f"keyid#{key_id}"}, "sk": {"S": "key"}},
                UpdateExpression="SET last_used_at = :t",
                ConditionExpression=(
                    "attribute_exists(pk) AND (attribute_not_exists(last_used_at) OR last_used_at < :t)"
                ),
                ExpressionAttributeValues={":t": _stamp(at)},
            )
        except ClientError as exc:
            if refused(exc):
                return  # a later use is already recorded, or the key is gone
            raise unavailable(exc) from exc
        except BotoCoreError as exc:
            raise unavailable(exc) from exc

    def _key_puts(self, record: ApiKeyRecord) -> list[dict[str, Any]]:
        body = {"S": record.model_dump_json()}
        return [
            self._put(f"key#{record.key_hash}", "key", body, unique=True),
            self._put(f"keyid#{record.key_id}", "key", body, unique=True, org_id=record.org_id),
        ]

    def _revocations(self, record: ApiKeyRecord, at: datetime, condition: str) -> list[dict[str, Any]]:
        return [
            {
                "Update": {
                    "TableName": self._table,
                    "Key": {"pk": {"S": pk}, "sk": {"S": "key"}},
                    "UpdateExpression": "SET revoked_at = :t",
                    "ConditionExpression": condition,
                    "ExpressionAttributeValues": {":t": _stamp(at)},
                }
            }
            for pk in (f"key#{record.key_hash}", f"keyid#{record.key_id}")
        ]

    def _put(
        self, pk: str, sk: str, body: dict[str, str], *, unique: bool, org_id: str | None = None
    ) -> dict[str, Any]:
        item: dict[str, Any] = {"pk": {"S": pk}, "sk": {"S": sk}, "body": body}
        if org_id:
            item["key_org"] = {"S": org_id}
        put: dict[str, Any] = {"TableName": self._table, "Item": item}
        if unique:
            put["ConditionExpression"] = "attribute_not_exists(pk)"
        return {"Put": put}

    def _get(self, pk: str, sk: str) -> dict[str, Any] | None:
        try:
            item: dict[str, Any] | None = self._ddb.get_item(
                TableName=self._table, Key={"pk": {"S": pk}, "sk": {"S": sk}}, ConsistentRead=True
            ).get("Item")
        except (ClientError, BotoCoreError) as exc:
            raise unavailable(exc) from exc
        return item

    def _scan(self, condition: str, values: dict[str, Any]) -> list[dict[str, Any]]:
        items: list[dict[str, Any]] = []
        kwargs: dict[str, Any] = {
            "TableName": self._table,
            "FilterExpression": condition,
            "ExpressionAttributeValues": values,
            "ConsistentRead": True,
        }
        try:
            while True:
                page = self._ddb.scan(**kwargs)
                items += page.get("Items", [])
                if "LastEvaluatedKey" not in page:
                    return items
                kwargs["ExclusiveStartKey"] = page["LastEvaluatedKey"]
        except (ClientError, BotoCoreError) as exc:
            raise unavailable(exc) from exc


def _record(item: dict[str, Any]) -> ApiKeyRecord:
    record = ApiKeyRecord.model_validate_json(item["body"]["S"])
    changes: dict[str, Any] = {
        name: datetime.fromisoformat(item[name]["S"])
        for name in ("revoked_at", "last_used_at")
        if name in item
    }
    return record.model_copy(update=changes) if changes else record
