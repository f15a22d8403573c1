"""The AWS workflow log, in the state table beside the runs:

    catalog#<id> / view                  the workflow's or script's view (`kind`, `body`)
    catalog#<id> / event#<seq, 10 digits> its events
    catalog-index#<org>#<kind> / <created_at>#<id>   one per aggregate, for listing newest first

An append is one TransactWriteItems: the events (each absent before), the view (conditional on
the version read) and, with the first event, the index entry. No item carries the run
listing's index attributes, so none of this shows up among the runs.
"""

from __future__ import annotations

from typing import Any

from botocore.exceptions import BotoCoreError, ClientError

from altostratus.adapters.dynamodb_errors import canceled, unavailable
from altostratus.domain import workflows as w
from altostratus.ports.clock import Clock
from altostratus.ports.errors import SequenceConflictError
from altostratus.ports.workflow_log import PreparedCatalogAppend, WorkflowLog

DynamoDBClient = Any  # boto3 ships no type hints


def _pk(aggregate_id: str) -> dict[str, str]:
    return {"S": f"catalog#{aggregate_id}"}


def _index_pk(org_id: str, kind: str) -> dict[str, str]:
    return {"S": f"catalog-index#{org_id}#{kind}"}


def _view(item: dict[str, Any]) -> w.CatalogView:
    body = item["body"]["S"]
    if item["kind"]["S"] == "workflow":
        return w.WorkflowView.model_validate_json(body)
    return w.ScriptView.model_validate_json(body)


class DynamoDBWorkflowLog(WorkflowLog):
    def __init__(self, client: DynamoDBClient, *, state_table: str, clock: Clock) -> None:
        super().__init__(clock)
        self._ddb = client
        self._table = state_table

    def get(self, aggregate_id: str) -> w.CatalogView | None:
        try:
            found = self._ddb.get_item(
                TableName=self._table,
                Key={"pk": _pk(aggregate_id), "sk": {"S": "view"}},
                ConsistentRead=True,
            )
        except (BotoCoreError, ClientError) as exc:
            raise unavailable(exc) from exc
        item = found.get("Item")
        return _view(item) if item else None

    def read(self, aggregate_id: str) -> list[w.CatalogEvent]:
        events: list[w.CatalogEvent] = []
        start: dict[str, Any] | None = None
        while True:
            query: dict[str, Any] = {
                "TableName": self._table,
                "KeyConditionExpression": "pk = :pk AND begins_with(sk, :event)",
                "ExpressionAttributeValues": {":pk": _pk(aggregate_id), ":event": {"S": "event#"}},
                "ConsistentRead": True,
            }
            if start:
                query["ExclusiveStartKey"] = start
            try:
                page = self._ddb.query(**query)
            except (BotoCoreError, ClientError) as exc:
                raise unavailable(exc) from exc
            events += [w.CATALOG_EVENT_ADAPTER.validate_json(i["body"]["S"]) for i in page["Items"]]
            start = page.get("LastEvaluatedKey")
            if not start:
                return events

    def _list(self, org_id: str, kind: str, offset: int, limit: int) -> list[w.CatalogView]:
        ids: list[str] = []
        start: dict[str, Any] | None = None
        while len(ids) < offset + limit:
            query: dict[str, Any] = {
                "TableName": self._table,
                "KeyConditionExpression": "pk = :pk",
                "ExpressionAttributeValues": {":pk": _index_pk(org_id, kind)},
                "ScanIndexForward": False,
                "Limit": offset + limit - len(ids),
            }
            if start:
                query["ExclusiveStartKey"] = start
            try:
                page = self._ddb.query(**query)
            except (BotoCoreError, ClientError) as exc:
                raise unavailable(exc) from exc
            ids += [i["aggregate_id"]["S"] for i in page["Items"]]
            start = page.get("LastEvaluatedKey")
            if not start:
                break
        views = [self.get(aggregate_id) for aggregate_id in ids[offset : offset + limit]]
        return [v for v in views if v is not None]

    def list_workflows(self, org_id: str, *, offset: int = 0, limit: int = 10) -> list[w.WorkflowView]:
        return [v for v in self._list(org_id, "workflow", offset, limit) if isinstance(v, w.WorkflowView)]

    def list_scripts(self, org_id: str, *, offset: int = 0, limit: int = 10) -> list[w.ScriptView]:
        return [v for v in self._list(org_id, "script", offset, limit) if isinstance(v, w.ScriptView)]

    def _write(self, prepared: PreparedCatalogAppend) -> None:
        view = prepared.view
        items: list[dict[str, Any]] = [
            {
                "Put": {
                    "TableName": self._table,
                    "Item": {
                        "pk": _pk(e.aggregate_id),
                        "sk": {"S": f"event#{e.seq:010d}"},
                        "body": {"S": e.model_dump_json()},
                    },
                    "ConditionExpression": "attribute_not_exists(pk)",
                }
            }
            for e in prepared.events
        ]
        condition = "attribute_not_exists(pk)" if prepared.expected_version == 0 else "version = :expected"
        put_view: dict[str, Any] = {
            "TableName": self._table,
            "Item": {
                "pk": _pk(view.aggregate_id),
                "sk": {"S": "view"},
                "kind": {"S": view.kind},
                "version": {"N": str(view.version)},
                "body": {"S": view.model_dump_json()},
            },
            "ConditionExpression": condition,
        }
        if prepared.expected_version:
            put_view["ExpressionAttributeValues"] = {":expected": {"N": str(prepared.expected_version)}}
        items.append({"Put": put_view})
        if prepared.expected_version == 0:
            items.append(
                {
                    "Put": {
                        "TableName": self._table,
                        "Item": {
                            "pk": _index_pk(view.org_id, view.kind),
                            "sk": {"S": f"{view.created_at.isoformat()}#{view.aggregate_id}"},
                            "aggregate_id": {"S": view.aggregate_id},
                        },
                    }
                }
            )
        try:
            self._ddb.transact_write_items(TransactItems=items)
        except ClientError as exc:
            if canceled(exc):
                raise SequenceConflictError(prepared.aggregate_id) from exc
            raise unavailable(exc) from exc
        except BotoCoreError as exc:
            raise unavailable(exc) from exc
