"""The AWS credential store, in the state table under `cred#<org_id>`, one item per
credential (sort key: its id), its values sealed; `version` guards concurrent updates."""

from __future__ import annotations

import dataclasses
import json
from datetime import datetime
from typing import Any

from botocore.exceptions import BotoCoreError, ClientError

from altostratus.adapters.dynamodb_errors import refused, unavailable
from altostratus.ports.credentials import StoredCredential
from altostratus.ports.errors import IntegrityError, SequenceConflictError

DynamoDBClient = Any  # boto3 ships no type hints


def _key(org_id: str, credential_id: str) -> dict[str, Any]:
    return {"pk": {"S": f"cred#{org_id}"}, "sk": {"S": credential_id}}


def _item(c: StoredCredential) -> dict[str, Any]:
    item: dict[str, Any] = {
        **_key(c.org_id, c.credential_id),
        "name": {"S": c.name},
        "credential_type": {"S": c.credential_type},
        "created_at": {"S": c.created_at.isoformat(timespec="microseconds")},
        "modified_at": {"S": c.modified_at.isoformat(timespec="microseconds")},
        "sealed": {"S": c.sealed},
        "shown": {"S": json.dumps(c.shown)},
        "version": {"N": str(c.version)},
    }
    if c.tested_url is not None:
        item["tested_url"] = {"S": c.tested_url}
    return item


def _credential(org_id: str, item: dict[str, Any]) -> StoredCredential:
    return StoredCredential(
        credential_id=item["sk"]["S"],
        org_id=org_id,
        name=item["name"]["S"],
        credential_type=item["credential_type"]["S"],
        created_at=datetime.fromisoformat(item["created_at"]["S"]),
        modified_at=datetime.fromisoformat(item["modified_at"]["S"]),
        sealed=item["sealed"]["S"],
        shown=json.loads(item["shown"]["S"]),
        tested_url=item["tested_url"]["S"] if "tested_url" in item else None,
        version=int(item["version"]["N"]),
    )


class DynamoDBCredentialStore:
    def __init__(self, client: DynamoDBClient, *, state_table: str) -> None:
        self._ddb = client
        self._table = state_table

    def create(self, credential: StoredCredential) -> None:
        stored = dataclasses.replace(credential, version=1)
        try:
            self._ddb.put_item(
                TableName=self._table, Item=_item(stored), ConditionExpression="attribute_not_exists(pk)"
            )
        except ClientError as exc:
            if refused(exc):
                raise IntegrityError(f"the credential {credential.credential_id} exists already") from exc
            raise unavailable(exc) from exc
        except BotoCoreError as exc:
            raise unavailable(exc) from exc

    def get(self, org_id: str, credential_id: str) -> StoredCredential | None:
        try:
            found = self._ddb.get_item(
                TableName=self._table, Key=_key(org_id, credential_id), ConsistentRead=True
            ).get("Item")
        except (ClientError, BotoCoreError) as exc:
            raise unavailable(exc) from exc
        return _credential(org_id, found) if found else None

    def list(self, org_id: str, *, offset: int = 0, limit: int = 10) -> list[StoredCredential]:
        items: list[dict[str, Any]] = []
        kwargs: dict[str, Any] = {
            "TableName": self._table,
            "KeyConditionExpression": "pk = :p",
            "ExpressionAttributeValues": {":p": {"S": f"cred#{org_id}"}},
            "ConsistentRead": True,
        }
        try:
            while True:
                page = self._ddb.query(**kwargs)
                items += page.get("Items", [])
                if "LastEvaluatedKey" not in page:
                    break
                kwargs["ExclusiveStartKey"] = page["LastEvaluatedKey"]
        except (ClientError, BotoCoreError) as exc:
            raise unavailable(exc) from exc
        # An organization keeps few credentials: sorted here, newest first, as SQLite sorts them.
        found = sorted(
            (_credential(org_id, i) for i in items),
            key=lambda c: (c.created_at, c.credential_id),
            reverse=True,
        )
        return found[offset : offset + limit]

    def replace(self, credential: StoredCredential, *, expected_version: int) -> StoredCredential:
        stored = dataclasses.replace(credential, version=expected_version + 1)
        try:
            self._ddb.put_item(
                TableName=self._table,
                Item=_item(stored),
                ConditionExpression="attribute_exists(pk) AND version = :v",
                ExpressionAttributeValues={":v": {"N": str(expected_version)}},
            )
        except ClientError as exc:
            if refused(exc):
                raise SequenceConflictError(
                    f"the credential {credential.credential_id} changed meanwhile"
                ) from exc
            raise unavailable(exc) from exc
        except BotoCoreError as exc:
            raise unavailable(exc) from exc
        return stored

    def delete(self, org_id: str, credential_id: str) -> bool:
        try:
            self._ddb.delete_item(
                TableName=self._table,
                Key=_key(org_id, credential_id),
                ConditionExpression="attribute_exists(pk)",
            )
        except ClientError as exc:
            if refused(exc):
                return False
            raise unavailable(exc) from exc
        except BotoCoreError as exc:
            raise unavailable(exc) from exc
        return True
