"""The AWS run slots: items `org#<org_id>` / `slot#<n>` of the state table, each a lease taken
with a conditional put (free, expired, or already this run's), so concurrent Lambdas never
share a slot. The `expiration` attribute lets DynamoDB's TTL sweep leases long expired."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from botocore.exceptions import BotoCoreError, ClientError

from altostratus.ports.clock import Clock
from altostratus.ports.errors import StoreUnavailableError
from altostratus.ports.run_slots import SlotLease

DynamoDBClient = Any  # boto3 ships no type hints


def _pk(org_id: str) -> dict[str, str]:
    return {"S": f"org#{org_id}"}


def _sk(slot: int) -> dict[str, str]:
    return {"S": f"slot#{slot:04d}"}


class DynamoDBRunSlots:
    def __init__(self, client: DynamoDBClient, *, state_table: str, clock: Clock) -> None:
        self._ddb = client
        self._table = state_table
        self._clock = clock

    def acquire(self, org_id: str, run_id: str, *, cap: int, lease_s: float) -> bool:
        now = self._clock.now().timestamp()
        leases = self._leases(org_id)
        held = [lease.slot for lease in leases if lease.run_id == run_id]
        busy = {lease.slot for lease in leases if lease.expires_at.timestamp() > now}
        # Its own slot first (a renewal); if another run took it meanwhile, any free one. Runs
        # past a lowered cap still count, so none starts until enough have ended; the slot
        # numbers below the cap are what makes concurrent takers exclusive.
        others = busy - set(held)
        free = [n for n in range(cap) if n not in busy and n not in held] if len(others) < cap else []
        return any(self._take(org_id, slot, run_id, now=now, until=now + lease_s) for slot in held + free)

    def _take(self, org_id: str, slot: int, run_id: str, *, now: float, until: float) -> bool:
        try:
            self._ddb.put_item(
                TableName=self._table,
                Item={
                    "pk": _pk(org_id),
                    "sk": _sk(slot),
                    "run_id": {"S": run_id},
                    "expires_at": {"N": repr(until)},
                    "expiration": {"N": str(int(until) + 1)},
                },
                ConditionExpression="attribute_not_exists(pk) OR run_id = :run OR expires_at < :now",
                ExpressionAttributeValues={":run": {"S": run_id}, ":now": {"N": repr(now)}},
            )
        except ClientError as exc:
            if exc.response.get("Error", {}).get("Code") == "ConditionalCheckFailedException":
                return False
            raise _unavailable(exc) from exc
        except BotoCoreError as exc:
            raise _unavailable(exc) from exc
        return True

    def release(self, org_id: str, run_id: str) -> None:
        for lease in self._leases(org_id):
            if lease.run_id != run_id:
                continue
            try:
                self._ddb.delete_item(
                    TableName=self._table,
                    Key={"pk": _pk(org_id), "sk": _sk(lease.slot)},
                    ConditionExpression="run_id = :run",
                    ExpressionAttributeValues={":run": {"S": run_id}},
                )
            except ClientError as exc:
                if exc.response.get("Error", {}).get("Code") != "ConditionalCheckFailedException":
                    raise _unavailable(exc) from exc
            except BotoCoreError as exc:
                raise _unavailable(exc) from exc

    def holders(self, org_id: str) -> list[SlotLease]:
        now = self._clock.now()
        return [lease for lease in self._leases(org_id) if lease.expires_at > now]

    def _leases(self, org_id: str) -> list[SlotLease]:
        """Every slot item of the organization, expired or not, by slot number."""
        kwargs: dict[str, Any] = {
            "TableName": self._table,
            "KeyConditionExpression": "pk = :p AND begins_with(sk, :s)",
            "ExpressionAttributeValues": {":p": _pk(org_id), ":s": {"S": "slot#"}},
            "ConsistentRead": True,
        }
        leases: list[SlotLease] = []
        while True:
            try:
                page = self._ddb.query(**kwargs)
            except (ClientError, BotoCoreError) as exc:
                raise _unavailable(exc) from exc
            leases += [
                SlotLease(
                    org_id=org_id,
                    slot=int(item["sk"]["S"].removeprefix("slot#")),
                    run_id=item["run_id"]["S"],
                    expires_at=datetime.fromtimestamp(float(item["expires_at"]["N"]), UTC),
                )
                for item in page.get("Items", [])
            ]
            if "LastEvaluatedKey" not in page:
                return leases
            kwargs["ExclusiveStartKey"] = page["LastEvaluatedKey"]


def _unavailable(exc: Exception) -> StoreUnavailableError:
    return StoreUnavailableError(f"DynamoDB request failed: {type(exc).__name__}: {exc}")
