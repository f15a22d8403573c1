"""The AWS one-time codes, in the state table under `totp#<org_id>#<identifier>`, sorted by
`<created_at>#<totp_code_id>`; `expiration` lets DynamoDB's TTL sweep codes a day old (reads
decide on their own whether a code may still be typed)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from botocore.exceptions import BotoCoreError, ClientError

from altostratus.adapters.dynamodb_errors import refused, unavailable
from altostratus.ports.errors import IntegrityError
from altostratus.ports.otp_codes import RETENTION_SECONDS, StoredOtpCode

DynamoDBClient = Any  # boto3 ships no type hints

_OPTIONAL = ("task_id", "workflow_id", "workflow_run_id", "source", "otp_type", "used_by")


def _pk(org_id: str, identifier: str) -> dict[str, str]:
    return {"S": f"totp#{org_id}#{identifier}"}


def _sk(created_at: datetime, totp_code_id: str) -> dict[str, str]:
    return {"S": f"{created_at.isoformat(timespec='microseconds')}#{totp_code_id}"}


def _item(code: StoredOtpCode) -> dict[str, Any]:
    item: dict[str, Any] = {
        "pk": _pk(code.org_id, code.identifier),
        "sk": _sk(code.created_at, code.totp_code_id),
        "totp_code_id": {"S": code.totp_code_id},
        "identifier": {"S": code.identifier},
        "created_at": {"S": code.created_at.isoformat(timespec="microseconds")},
        "sealed": {"S": code.sealed},
        "status": {"S": code.status},
        "expiration": {"N": str(int(code.created_at.timestamp()) + RETENTION_SECONDS)},
    }
    if code.expired_at is not None:
        item["expired_at"] = {"S": code.expired_at.isoformat(timespec="microseconds")}
    for name in _OPTIONAL:
        value = getattr(code, name)
        if value is not None:
            item[name] = {"S": value}
    return item


def _code(org_id: str, item: dict[str, Any]) -> StoredOtpCode:
    def text(name: str) -> str | None:
        value = item.get(name)
        return str(value["S"]) if value else None

    expired = text("expired_at")
    return StoredOtpCode(
        totp_code_id=item["totp_code_id"]["S"],
        org_id=org_id,
        identifier=item["identifier"]["S"],
        created_at=datetime.fromisoformat(item["created_at"]["S"]),
        sealed=item["sealed"]["S"],
        status=item["status"]["S"],
        expired_at=datetime.fromisoformat(expired) if expired else None,
        task_id=text("task_id"),
        workflow_id=text("workflow_id"),
        workflow_run_id=text("workflow_run_id"),
        source=text("source"),
        otp_type=text("otp_type"),
        used_by=text("used_by"),
    )


class DynamoDBOtpCodes:
    def __init__(self, client: DynamoDBClient, *, state_table: str) -> None:
        self._ddb = client
        self._table = state_table

    def add(self, code: StoredOtpCode) -> None:
        try:
            self._ddb.put_item(
                TableName=self._table,
                Item=_item(code),
                ConditionExpression="attribute_not_exists(pk)",
            )
        except ClientError as exc:
            if refused(exc):
                raise IntegrityError(f"the code {code.totp_code_id} exists already") from exc
            raise unavailable(exc) from exc
        except BotoCoreError as exc:
            raise unavailable(exc) from exc

    def recent(
        self, org_id: str, identifier: str, *, since: datetime, limit: int = 50
    ) -> list[StoredOtpCode]:
        try:
            page = self._ddb.query(
                TableName=self._table,
                KeyConditionExpression="pk = :p AND sk >= :since",
                ExpressionAttributeValues={
                    ":p": _pk(org_id, identifier),
                    ":since": {"S": since.isoformat(timespec="microseconds")},
                },
                ScanIndexForward=False,
                Limit=limit,
                ConsistentRead=True,
            )
        except (ClientError, BotoCoreError) as exc:
            raise unavailable(exc) from exc
        return [_code(org_id, item) for item in page.get("Items", [])]

    def mark_used(
        self, org_id: str, identifier: str, *, created_at: datetime, totp_code_id: str, run_id: str
    ) -> bool:
        try:
            self._ddb.update_item(
                TableName=self._table,
                Key={"pk": _pk(org_id, identifier), "sk": _sk(created_at, totp_code_id)},
                UpdateExpression="SET used_by = :run",
                ConditionExpression="attribute_exists(pk) AND attribute_not_exists(used_by)",
                ExpressionAttributeValues={":run": {"S": run_id}},
            )
        except ClientError as exc:
            if refused(exc):
                return False
            raise unavailable(exc) from exc
        except BotoCoreError as exc:
            raise unavailable(exc) from exc
        return True
