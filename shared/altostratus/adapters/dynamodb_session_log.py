"""The AWS session log: browser sessions in the state table, one TransactWriteItems per append.

Items (all in the state table, beside the runs' records, under keys of their own):
    session#<pbs> / view             the session's view, with its `version` (the last seq)
    session#<pbs> / event#<seq>      each event, seq zero-padded so the sort key orders them
    sessions#open#<org> / <created>#<pbs>   an open session of the organization (listing)
    sessions#open / <pbs>                   an open session of any organization (the sweep)

The two `sessions#open…` partitions are the index of open sessions: written in the transaction
that creates a session and deleted in the one that closes it, so they hold open sessions only
and need no GSI (a table update can add only one GSI at a time, and the state table's indexes
serve the runs). Listing reads an organization's markers and then its views in one batch.

Every append is conditional on the view's version being the one the domain decided on, so the
lease (a `SessionLeased` appended after reading a free session) is a conditional write: two
runs racing for a free session cannot both win, and the loser reads the winner's lease.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from botocore.exceptions import BotoCoreError, ClientError

from altostratus.adapters.dynamodb_errors import call, canceled, unavailable
from altostratus.domain import sessions as s
from altostratus.ports.clock import Clock
from altostratus.ports.errors import SequenceConflictError
from altostratus.ports.session_log import PreparedSessionAppend, SessionLog

DynamoDBClient = Any  # boto3 ships no type hints

_OPEN_ALL = "sessions#open"
_BATCH_GET = 100


def _pk(session_id: str) -> dict[str, str]:
    return {"S": f"session#{session_id}"}


def _view_key(session_id: str) -> dict[str, Any]:
    return {"pk": _pk(session_id), "sk": {"S": "view"}}


def _created_key(view: s.SessionView) -> str:
    return f"{view.created_at.isoformat(timespec='microseconds')}#{view.session_id}"


def _org_marker(view: s.SessionView) -> dict[str, Any]:
    return {"pk": {"S": f"{_OPEN_ALL}#{view.org_id}"}, "sk": {"S": _created_key(view)}}


def _all_marker(view: s.SessionView) -> dict[str, Any]:
    return {"pk": {"S": _OPEN_ALL}, "sk": {"S": view.session_id}}


class DynamoDBSessionLog(SessionLog):
    def __init__(
        self, client: DynamoDBClient, *, state_table: str, clock: Clock, retention_days: int | None = None
    ) -> None:
        super().__init__(clock)
        self._ddb = client
        self._table = state_table
        self._retention = timedelta(days=retention_days) if retention_days else None

    def _expiry(self, created_at: datetime) -> dict[str, Any]:
        # A session lives hours at most; its records go with the runs of its day.
        if self._retention is None:
            return {}
        return {"expiration": {"N": str(int((created_at + self._retention).timestamp()))}}

    def get(self, session_id: str) -> s.SessionView | None:
        item = call(
            self._ddb.get_item, TableName=self._table, Key=_view_key(session_id), ConsistentRead=True
        ).get("Item")
        return s.SessionView.model_validate_json(item["body"]["S"]) if item else None

    def read(self, session_id: str) -> list[s.SessionEvent]:
        events: list[s.SessionEvent] = []
        kwargs: dict[str, Any] = {
            "TableName": self._table,
            "KeyConditionExpression": "pk = :p AND begins_with(sk, :e)",
            "ExpressionAttributeValues": {":p": _pk(session_id), ":e": {"S": "event#"}},
            "ConsistentRead": True,
        }
        while True:
            page = call(self._ddb.query, **kwargs)
            events += [s.SESSION_EVENT_ADAPTER.validate_json(i["body"]["S"]) for i in page.get("Items", [])]
            if "LastEvaluatedKey" not in page:
                return events
            kwargs["ExclusiveStartKey"] = page["LastEvaluatedKey"]

    def list_open(self, org_id: str) -> list[s.SessionView]:
        ids = self._marked(f"{_OPEN_ALL}#{org_id}", newest_first=True)
        return self._views([sk.rsplit("#", 1)[1] for sk in ids])

    def open_sessions(self) -> list[s.SessionView]:
        return self._views(self._marked(_OPEN_ALL, newest_first=False))

    def _marked(self, pk: str, *, newest_first: bool) -> list[str]:
        keys: list[str] = []
        kwargs: dict[str, Any] = {
            "TableName": self._table,
            "KeyConditionExpression": "pk = :p",
            "ExpressionAttributeValues": {":p": {"S": pk}},
            "ProjectionExpression": "sk",
            "ScanIndexForward": not newest_first,
        }
        while True:
            page = call(self._ddb.query, **kwargs)
            keys += [i["sk"]["S"] for i in page.get("Items", [])]
            if "LastEvaluatedKey" not in page:
                return keys
            kwargs["ExclusiveStartKey"] = page["LastEvaluatedKey"]

    def _views(self, session_ids: list[str]) -> list[s.SessionView]:
        found: dict[str, s.SessionView] = {}
        for start in range(0, len(session_ids), _BATCH_GET):
            pending: dict[str, Any] = {
                self._table: {
                    "Keys": [_view_key(i) for i in session_ids[start : start + _BATCH_GET]],
                    "ConsistentRead": True,
                }
            }
            while pending:
                answer = call(self._ddb.batch_get_item, RequestItems=pending)
                for item in answer.get("Responses", {}).get(self._table, []):
                    view = s.SessionView.model_validate_json(item["body"]["S"])
                    found[view.session_id] = view
                pending = answer.get("UnprocessedKeys") or {}
        # A marker whose session closed between the two reads is left out.
        return [found[i] for i in session_ids if i in found and not found[i].is_closed]

    def _write(self, prepared: PreparedSessionAppend) -> None:
        view = prepared.view
        expiry = self._expiry(view.created_at)
        items: list[dict[str, Any]] = [
            {
                "Put": {
                    "TableName": self._table,
                    "Item": {
                        "pk": _pk(event.session_id),
                        "sk": {"S": f"event#{event.seq:010d}"},
                        "body": {"S": event.model_dump_json()},
                        **expiry,
                    },
                    "ConditionExpression": "attribute_not_exists(pk)",
                }
            }
            for event in prepared.events
        ]
        condition: dict[str, Any] = (
            {"ConditionExpression": "attribute_not_exists(pk)"}
            if prepared.expected_version == 0
            else {
                "ConditionExpression": "version = :v",
                "ExpressionAttributeValues": {":v": {"N": str(prepared.expected_version)}},
            }
        )
        items.append(
            {
                "Put": {
                    "TableName": self._table,
                    "Item": {
                        **_view_key(view.session_id),
                        "version": {"N": str(view.version)},
                        "body": {"S": view.model_dump_json()},
                        **expiry,
                    },
                    **condition,
                }
            }
        )
        created = any(isinstance(e.data, s.SessionCreated) for e in prepared.events)
        closed = view.is_closed and any(isinstance(e.data, s.SessionClosed) for e in prepared.events)
        if created and not closed:
            for marker in (_org_marker(view), _all_marker(view)):
                items.append({"Put": {"TableName": self._table, "Item": {**marker, **expiry}}})
        elif closed and not created:
            for marker in (_org_marker(view), _all_marker(view)):
                items.append({"Delete": {"TableName": self._table, "Key": marker}})
        try:
            self._ddb.transact_write_items(TransactItems=items)
        except ClientError as exc:
            if canceled(exc):
                # A condition failed (someone appended first) or another transaction touched
                # the same items: either way the caller reads again.
                raise SequenceConflictError(prepared.session_id) from exc
            raise unavailable(exc) from exc
        except BotoCoreError as exc:
            raise unavailable(exc) from exc
