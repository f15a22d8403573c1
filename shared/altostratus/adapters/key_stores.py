"""Key stores: SQLite (embedded) and DynamoDB (the state table), sharing the sealing logic."""

from __future__ import annotations

from typing import Any

from botocore.exceptions import BotoCoreError, ClientError

from altostratus.adapters.sealing import Sealer
from altostratus.adapters.sqlite_db import SQLiteDatabase
from altostratus.domain.ids import IdFactory
from altostratus.domain.keys import ApiKeyRecord, Organization, Principal, hash_key, new_key
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

    def create_key(self, org_id: str, *, label: str | None = None) -> tuple[ApiKeyRecord, str]:
        record, raw = self._new_record(org_id, label)
        with self._db.write() as conn:
            conn.execute(
                "INSERT INTO api_keys (key_id, key_hash, org_id, body) VALUES (?, ?, ?, ?)",
                (record.key_id, record.key_hash, org_id, record.model_dump_json()),
            )
        return record, raw

    def authenticate(self, raw_key: str) -> Principal | None:
        row = (
            self._db.connection()
            .execute("SELECT body FROM api_keys WHERE key_hash = ?", (hash_key(raw_key),))
            .fetchone()
        )
        if not row:
            return None
        record = ApiKeyRecord.model_validate_json(row[0])
        return None if record.revoked else Principal(org_id=record.org_id, key_id=record.key_id)

    def signing_key(self, key_id: str) -> str | None:
        row = (
            self._db.connection().execute("SELECT body FROM api_keys WHERE key_id = ?", (key_id,)).fetchone()
        )
        return self._unseal(ApiKeyRecord.model_validate_json(row[0])) if row else None

    def list_keys(self, org_id: str) -> list[ApiKeyRecord]:
        rows = (
            self._db.connection()
            .execute("SELECT body FROM api_keys WHERE org_id = ? ORDER BY key_id", (org_id,))
            .fetchall()
        )
        return [ApiKeyRecord.model_validate_json(r[0]) for r in rows]


class DynamoDBKeyStore(_KeyStoreBase):
    """Items in the state table: `key#<hash>`/`key`, `keyid#<id>`/`key` (same body),
    `org#<id>`/`org`, `orgname#<name>`/`org` — each with a uniqueness condition."""

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
            if exc.response.get("Error", {}).get("Code") == "TransactionCanceledException":
                raise ValueError(f"an organization named {name!r} already exists") from exc
            raise StoreUnavailableError(f"DynamoDB request failed: {type(exc).__name__}") from exc
        return org

    def org_by_name(self, name: str) -> Organization | None:
        body = self._get(f"orgname#{name}", "org")
        return Organization.model_validate_json(body) if body else None

    def create_key(self, org_id: str, *, label: str | None = None) -> tuple[ApiKeyRecord, str]:
        record, raw = self._new_record(org_id, label)
        body = {"S": record.model_dump_json()}
        try:
            self._ddb.transact_write_items(
                TransactItems=[
                    self._put(f"key#{record.key_hash}", "key", body, unique=True),
                    self._put(f"keyid#{record.key_id}", "key", body, unique=True, org_id=org_id),
                ]
            )
        except (ClientError, BotoCoreError) as exc:
            raise StoreUnavailableError(f"DynamoDB request failed: {type(exc).__name__}") from exc
        return record, raw

    def authenticate(self, raw_key: str) -> Principal | None:
        body = self._get(f"key#{hash_key(raw_key)}", "key")
        if body is None:
            return None
        record = ApiKeyRecord.model_validate_json(body)
        return None if record.revoked else Principal(org_id=record.org_id, key_id=record.key_id)

    def signing_key(self, key_id: str) -> str | None:
        body = self._get(f"keyid#{key_id}", "key")
        return self._unseal(ApiKeyRecord.model_validate_json(body)) if body else None

    def list_keys(self, org_id: str) -> list[ApiKeyRecord]:
        # Keys are few per organization; a filtered scan keeps the table free of another index.
        records: list[ApiKeyRecord] = []
        kwargs: dict[str, Any] = {
            "TableName": self._table,
            "FilterExpression": "begins_with(pk, :p) AND key_org = :o",
            "ExpressionAttributeValues": {":p": {"S": "keyid#"}, ":o": {"S": org_id}},
        }
        while True:
            page = self._ddb.scan(**kwargs)
            records += [ApiKeyRecord.model_validate_json(i["body"]["S"]) for i in page.get("Items", [])]
            if "LastEvaluatedKey" not in page:
                return sorted(records, key=lambda r: r.key_id)
            kwargs["ExclusiveStartKey"] = page["LastEvaluatedKey"]

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

    def _get(self, pk: str, sk: str) -> str | None:
        try:
            item = self._ddb.get_item(
                TableName=self._table, Key={"pk": {"S": pk}, "sk": {"S": sk}}, ConsistentRead=True
            ).get("Item")
        except (ClientError, BotoCoreError) as exc:
            raise StoreUnavailableError(f"DynamoDB request failed: {type(exc).__name__}") from exc
        return item["body"]["S"] if item else None
