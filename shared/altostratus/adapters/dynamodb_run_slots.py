"""The AWS run slots, in the state table under `org#<org_id>`:
    slot#<n>                  a lease, taken with a conditional put (free, expired, or already
                              this run's), so concurrent Lambdas never share a slot
    line#<since>#<run_id>     a place in the organization's waiting line, oldest first
Both carry `expires_at` (checked by every ask) and `expiration`, so DynamoDB's TTL sweeps
those long lapsed."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from botocore.exceptions import BotoCoreError, ClientError

from altostratus.adapters.dynamodb_errors import call, refused, unavailable
from altostratus.ports.clock import Clock
from altostratus.ports.run_slots import AHEAD_COUNTED, SlotAnswer, SlotLease

DynamoDBClient = Any  # boto3 ships no type hints


def _pk(org_id: str) -> dict[str, str]:
    return {"S": f"org#{org_id}"}


def _slot_sk(slot: int) -> dict[str, str]:
    return {"S": f"slot#{slot:04d}"}


def _line_sk(since: datetime, run_id: str) -> dict[str, str]:
    return {"S": f"line#{since.isoformat()}#{run_id}"}


def _expiry(until: float) -> dict[str, Any]:
    return {"expires_at": {"N": repr(until)}, "expiration": {"N": str(int(until) + 1)}}


class DynamoDBRunSlots:
    def __init__(self, client: DynamoDBClient, *, state_table: str, clock: Clock) -> None:
        self._ddb = client
        self._table = state_table
        self._clock = clock

    def acquire(
        self, org_id: str, run_id: str, *, cap: int, lease_s: float, since: datetime, wait_s: float
    ) -> SlotAnswer:
        now = self._clock.now().timestamp()
        leases = self._leases(org_id)
        held = [lease.slot for lease in leases if lease.run_id == run_id]
        if held and self._take(org_id, held[0], run_id, now=now, until=now + lease_s):
            self._leave_line(org_id, run_id, since)
            return SlotAnswer(admitted=True)
        busy = {
            lease.slot for lease in leases if lease.expires_at.timestamp() > now and lease.run_id != run_id
        }
        ahead = self._ahead(org_id, run_id, since, now)
        # Runs past a lowered cap still count, so none starts until enough have ended; the
        # slot numbers below the cap are what makes concurrent takers exclusive.
        if len(busy) + ahead < cap:
            for slot in (n for n in range(cap) if n not in busy):
                if self._take(org_id, slot, run_id, now=now, until=now + lease_s):
                    self._leave_line(org_id, run_id, since)
                    return SlotAnswer(admitted=True)
        call(
            self._ddb.put_item,
            TableName=self._table,
            Item={
                "pk": _pk(org_id),
                "sk": _line_sk(since, run_id),
                "run_id": {"S": run_id},
                **_expiry(now + wait_s),
            },
        )
        return SlotAnswer(admitted=False, ahead=ahead)

    def _take(self, org_id: str, slot: int, run_id: str, *, now: float, until: float) -> bool:
        try:
            self._ddb.put_item(
                TableName=self._table,
                Item={"pk": _pk(org_id), "sk": _slot_sk(slot), "run_id": {"S": run_id}, **_expiry(until)},
                ConditionExpression="attribute_not_exists(pk) OR run_id = :run OR expires_at < :now",
                ExpressionAttributeValues={":run": {"S": run_id}, ":now": {"N": repr(now)}},
            )
        except ClientError as exc:
            if refused(exc):
                return False
            raise unavailable(exc) from exc
        except BotoCoreError as exc:
            raise unavailable(exc) from exc
        return True

    def _ahead(self, org_id: str, run_id: str, since: datetime, now: float) -> int:
        """Live places in line before this run's (counted up to AHEAD_COUNTED)."""
        kwargs: dict[str, Any] = {
            "TableName": self._table,
            "KeyConditionExpression": "pk = :p AND sk BETWEEN :first AND :mine",
            "FilterExpression": "expires_at > :now AND run_id <> :run",
            "ExpressionAttributeValues": {
                ":p": _pk(org_id),
                ":first": {"S": "line#"},
                ":mine": _line_sk(since, run_id),
                ":now": {"N": repr(now)},
                ":run": {"S": run_id},
            },
            "ProjectionExpression": "sk",
            "ConsistentRead": True,
        }
        count = 0
        while count < AHEAD_COUNTED:
            kwargs["Limit"] = AHEAD_COUNTED
            page = call(self._ddb.query, **kwargs)
            count += len(page.get("Items", []))
            if "LastEvaluatedKey" not in page:
                break
            kwargs["ExclusiveStartKey"] = page["LastEvaluatedKey"]
        return min(count, AHEAD_COUNTED)

    def _leave_line(self, org_id: str, run_id: str, since: datetime) -> None:
        call(
            self._ddb.delete_item,
            TableName=self._table,
            Key={"pk": _pk(org_id), "sk": _line_sk(since, run_id)},
        )

    def release(self, org_id: str, run_id: str, *, since: datetime) -> None:
        for lease in self._leases(org_id):
            if lease.run_id != run_id:
                continue
            try:
                self._ddb.delete_item(
                    TableName=self._table,
                    Key={"pk": _pk(org_id), "sk": _slot_sk(lease.slot)},
                    ConditionExpression="run_id = :run",
                    ExpressionAttributeValues={":run": {"S": run_id}},
                )
            except ClientError as exc:
                if not refused(exc):
                    raise unavailable(exc) from exc
            except BotoCoreError as exc:
                raise unavailable(exc) from exc
        self._leave_line(org_id, run_id, since)

    def holders(self, org_id: str) -> list[SlotLease]:
        now = self._clock.now()
        return [lease for lease in self._leases(org_id) if lease.expires_at > now]

    def waiting(self, org_id: str) -> list[str]:
        now = self._clock.now().timestamp()
        items = self._items(org_id, "line#")
        return [i["run_id"]["S"] for i in items if float(i["expires_at"]["N"]) > now]

    def _leases(self, org_id: str) -> list[SlotLease]:
        """Every slot item of the organization, expired or not, by slot number."""
        return [
            SlotLease(
                org_id=org_id,
                slot=int(item["sk"]["S"].removeprefix("slot#")),
                run_id=item["run_id"]["S"],
                expires_at=datetime.fromtimestamp(float(item["expires_at"]["N"]), UTC),
            )
            for item in self._items(org_id, "slot#")
        ]

    def _items(self, org_id: str, prefix: str) -> list[dict[str, Any]]:
        kwargs: dict[str, Any] = {
            "TableName": self._table,
            "KeyConditionExpression": "pk = :p AND begins_with(sk, :s)",
            "ExpressionAttributeValues": {":p": _pk(org_id), ":s": {"S": prefix}},
            "ConsistentRead": True,
        }
        items: list[dict[str, Any]] = []
        while True:
            page = call(self._ddb.query, **kwargs)
            items += page.get("Items", [])
            if "LastEvaluatedKey" not in page:
                return items
            kwargs["ExclusiveStartKey"] = page["LastEvaluatedKey"]
