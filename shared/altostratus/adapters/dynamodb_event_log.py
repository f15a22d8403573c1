"""The AWS event log: DynamoDB, one TransactWriteItems per append.

Tables (see template.yaml):
- events: `run_id` (S) + `seq` (N) -> the event JSON in `body`; the stream feeds the publisher.
- state: `pk` (S) + `sk` (S), shared by every derived record:
    run#<run_id> / view              the run view; the GSI `runs_by_org` (org_id + created_key)
                                     projects only what listing reads: `summary` (a
                                     RunSummary), status, run_type and the normalized title
                                     and prompt prefix `search_title` / `search_prompt`;
                                     while the run is unstarted it also carries `unstarted`
                                     (a shard), which puts it in the sparse, keys-only GSI
                                     `runs_unstarted` the sweeper reads
    run#<run_id> / artifact#<id>     the run's artifact index, oldest first (ids are time-ordered)
    artifact#<id> / ref              artifact lookup by id
    run#<run_id> / event#<event_id>  marker of a caller-given event id (idempotent appends)
    claim#<key> / claim              a unique claim bound to a run (e.g. an idempotency key)

With a retention, every item of a run (its events, view, artifact records, markers and claim)
carries `expiration`: the run's submission plus the retention, which the tables' TTL deletes.
The bucket keeps artifacts longer than that (template.yaml), so no view outlives its files.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from botocore.exceptions import BotoCoreError, ClientError

from altostratus.adapters.dynamodb_errors import call, canceled, error_code, unavailable
from altostratus.domain import events as ev
from altostratus.domain.artifacts import ArtifactRecord
from altostratus.domain.enums import RunStatus
from altostratus.domain.run_summary import RunSummary, search_keys
from altostratus.domain.view import RunView
from altostratus.ports.clock import Clock
from altostratus.ports.errors import (
    ClaimTakenError,
    IntegrityError,
    RecordTooLargeError,
    SequenceConflictError,
)
from altostratus.ports.event_log import (
    ClaimRecord,
    DuplicateEventError,
    EventLog,
    ListPosition,
    PreparedAppend,
    RunPage,
    RunQuery,
    created_sort_key,
)

# boto3 ships no type hints and the stubs for this botocore line are not published.
DynamoDBClient = Any

# Named apart from the earlier `by_org` (which projected whole views): DynamoDB cannot change
# an index's projection in place.
BY_ORG_INDEX = "runs_by_org"
LISTING_ATTRIBUTES = ("summary", "status", "run_type", "search_title", "search_prompt")
UNSTARTED_INDEX = "runs_unstarted"
UNSTARTED_SHARDS = 4
_UNSTARTED = (RunStatus.CREATED, RunStatus.QUEUED)
_MAX_TRANSACT_ITEMS = 100
# DynamoDB refuses an item over 400 KB (names and values counted as UTF-8).
MAX_ITEM_BYTES = 400 * 1024
# Index items a filtered listing asks for at a time (DynamoDB's Limit counts items read).
_FILTERED_BATCH = 200


def view_key(run_id: str) -> dict[str, Any]:
    return {"pk": {"S": f"run#{run_id}"}, "sk": {"S": "view"}}


def claim_key(key: str) -> dict[str, Any]:
    return {"pk": {"S": f"claim#{key}"}, "sk": {"S": "claim"}}


def _listing_attributes(view: RunView) -> dict[str, Any]:
    title, prompt = search_keys(view)
    attributes: dict[str, Any] = {"summary": {"S": RunSummary.of(view).model_dump_json()}}
    if title:
        attributes["search_title"] = {"S": title}
    if prompt:
        attributes["search_prompt"] = {"S": prompt}
    return attributes


def item_size(item: dict[str, Any]) -> int:
    """An item's size as DynamoDB counts it (closely enough to refuse what it would refuse)."""
    size = 0
    for name, value in item.items():
        size += len(name.encode())
        for kind, inner in value.items():
            if kind == "S":
                size += len(inner.encode())
            elif kind == "N":
                size += len(inner) // 2 + 2
            elif kind == "B":
                size += len(inner)
            else:
                size += len(str(inner).encode())
    return size


def _shard(run_id: str) -> str:
    return str(sum(run_id.encode()) % UNSTARTED_SHARDS)


class DynamoDBEventLog(EventLog):
    def __init__(
        self,
        client: DynamoDBClient,
        *,
        events_table: str,
        state_table: str,
        clock: Clock,
        retention_days: int | None = None,
    ) -> None:
        super().__init__(clock)
        self._ddb = client
        self._events = events_table
        self._state = state_table
        self._retention = timedelta(days=retention_days) if retention_days else None

    def _expiry(self, created_at: datetime) -> dict[str, Any]:
        if self._retention is None:
            return {}
        return {"expiration": {"N": str(int((created_at + self._retention).timestamp()))}}

    def _write(self, prepared: PreparedAppend) -> None:
        expiry = self._expiry(prepared.view.created_at)
        items: list[dict[str, Any]] = []
        kinds: list[str] = []
        for event in prepared.events:
            items.append(
                {
                    "Put": {
                        "TableName": self._events,
                        "Item": {
                            "run_id": {"S": event.run_id},
                            "seq": {"N": str(event.seq)},
                            "event_id": {"S": event.event_id},
                            "type": {"S": event.type},
                            "org_id": {"S": event.org_id},
                            "at": {"S": event.at.isoformat()},
                            "body": {"S": ev.encode_event(event)},
                            **expiry,
                        },
                        # Two writers that read the same view both claim seq N; only one wins.
                        "ConditionExpression": "attribute_not_exists(run_id) AND attribute_not_exists(seq)",
                    }
                }
            )
            kinds.append("event")
        view = prepared.view
        view_put: dict[str, Any] = {
            "TableName": self._state,
            "Item": {
                **view_key(view.run_id),
                "org_id": {"S": view.org_id},
                "created_key": {"S": created_sort_key(view.created_at, view.run_id)},
                "status": {"S": view.status.value},
                "run_type": {"S": view.run_type.value},
                "version": {"N": str(view.version)},
                "body": {"S": view.model_dump_json()},
                **_listing_attributes(view),
                **({"unstarted": {"S": _shard(view.run_id)}} if view.status in _UNSTARTED else {}),
                **expiry,
            },
        }
        if prepared.expected_version == 0:
            view_put["ConditionExpression"] = "attribute_not_exists(pk)"
        else:
            # Optimistic concurrency: the view moves only from the version this append read.
            view_put["ConditionExpression"] = "version = :expected"
            view_put["ExpressionAttributeValues"] = {":expected": {"N": str(prepared.expected_version)}}
        items.append({"Put": view_put})
        kinds.append("view")
        for artifact in prepared.artifacts:
            body = {"S": artifact.model_dump_json()}
            items.append(
                {
                    "Put": {
                        "TableName": self._state,
                        "Item": {
                            "pk": {"S": f"run#{artifact.run_id}"},
                            "sk": {"S": f"artifact#{artifact.artifact_id}"},
                            "body": body,
                            **expiry,
                        },
                    }
                }
            )
            items.append(
                {
                    "Put": {
                        "TableName": self._state,
                        "Item": {
                            "pk": {"S": f"artifact#{artifact.artifact_id}"},
                            "sk": {"S": "ref"},
                            "body": body,
                            **expiry,
                        },
                        "ConditionExpression": "attribute_not_exists(pk)",
                    }
                }
            )
            kinds += ["artifact", "artifact"]
        dedupe_at: dict[int, str] = {}
        for event_id in prepared.dedupe_ids:
            dedupe_at[len(items)] = event_id
            items.append(
                {
                    "Put": {
                        "TableName": self._state,
                        "Item": {
                            "pk": {"S": f"run#{prepared.run_id}"},
                            "sk": {"S": f"event#{event_id}"},
                            **expiry,
                        },
                        "ConditionExpression": "attribute_not_exists(pk)",
                    }
                }
            )
            kinds.append("dedupe")
        if prepared.claim is not None:
            items.append(
                {
                    "Put": {
                        "TableName": self._state,
                        "Item": {
                            **claim_key(prepared.claim.key),
                            "run_id": {"S": prepared.run_id},
                            "fingerprint": {"S": prepared.claim.fingerprint},
                            **expiry,
                        },
                        # The claim is what makes a key bind one run: the first append wins.
                        "ConditionExpression": "attribute_not_exists(pk)",
                    }
                }
            )
            kinds.append("claim")
        if len(items) > _MAX_TRANSACT_ITEMS:
            raise ValueError(
                f"an append writes at most {_MAX_TRANSACT_ITEMS} items; this one needs {len(items)}"
            )
        largest = max(item_size(next(iter(i.values()))["Item"]) for i in items)
        if largest > MAX_ITEM_BYTES:
            raise RecordTooLargeError(largest, MAX_ITEM_BYTES)
        try:
            self._ddb.transact_write_items(TransactItems=items)
        except ClientError as exc:
            if error_code(exc) == "ValidationException" and "size" in str(exc).lower():
                raise RecordTooLargeError(largest, MAX_ITEM_BYTES) from exc
            if not canceled(exc):
                raise unavailable(exc) from exc
            reasons = [r.get("Code", "None") for r in exc.response.get("CancellationReasons", [])]
            failed = {kinds[i] for i, reason in enumerate(reasons) if reason == "ConditionalCheckFailed"}
            if "dedupe" in failed:
                repeats = frozenset(
                    dedupe_at[i]
                    for i, reason in enumerate(reasons)
                    if reason == "ConditionalCheckFailed" and i in dedupe_at
                )
                raise DuplicateEventError(prepared.run_id, repeats) from exc
            if failed & {"event", "view"}:
                raise SequenceConflictError(prepared.run_id) from exc
            if "claim" in failed and prepared.claim is not None:
                raise ClaimTakenError(prepared.claim.key) from exc
            if "artifact" in failed:
                raise IntegrityError(f"run {prepared.run_id}: an artifact id of this append exists") from exc
            # TransactionConflict: another transaction touched the same items; same as a conflict.
            if "TransactionConflict" in reasons:
                raise SequenceConflictError(prepared.run_id) from exc
            raise unavailable(exc) from exc
        except BotoCoreError as exc:
            raise unavailable(exc) from exc

    def read(self, run_id: str, *, after_seq: int = 0, limit: int | None = None) -> list[ev.Event]:
        out: list[ev.Event] = []
        kwargs: dict[str, Any] = {
            "TableName": self._events,
            "KeyConditionExpression": "run_id = :r AND seq > :s",
            "ExpressionAttributeValues": {":r": {"S": run_id}, ":s": {"N": str(after_seq)}},
            "ProjectionExpression": "body",
            "ConsistentRead": True,
        }
        while True:
            if limit is not None:
                kwargs["Limit"] = limit - len(out)
            page = call(self._ddb.query, **kwargs)
            out += [ev.decode_event(item["body"]["S"]) for item in page.get("Items", [])]
            if "LastEvaluatedKey" not in page or (limit is not None and len(out) >= limit):
                return out
            kwargs["ExclusiveStartKey"] = page["LastEvaluatedKey"]

    def get_view(self, run_id: str) -> RunView | None:
        item = call(self._ddb.get_item, TableName=self._state, Key=view_key(run_id), ConsistentRead=True).get(
            "Item"
        )
        if not item or self._expired(item):
            return None
        return RunView.model_validate_json(item["body"]["S"])

    def _expired(self, item: dict[str, Any]) -> bool:
        """Past its retention: TTL deletes it within days, but it is gone for readers at once
        (its artifacts may already be)."""
        expiration = item.get("expiration")
        return expiration is not None and int(expiration["N"]) <= self._clock.now().timestamp()

    def list_runs(self, org_id: str, query: RunQuery) -> RunPage:
        after = query.after
        values: dict[str, Any] = {":o": {"S": org_id}}
        names: dict[str, str] = {}
        filters: list[str] = []
        if query.statuses:
            keys = [f":st{i}" for i in range(len(query.statuses))]
            filters.append(f"#status IN ({', '.join(keys)})")
            names["#status"] = "status"
            values |= {k: {"S": s.value} for k, s in zip(keys, sorted(query.statuses), strict=True)}
        if query.run_types:
            keys = [f":rt{i}" for i in range(len(query.run_types))]
            filters.append(f"run_type IN ({', '.join(keys)})")
            values |= {k: {"S": t.value} for k, t in zip(keys, sorted(query.run_types), strict=True)}
        prefix, run_id = query.search_prefix, query.search_id
        if prefix or run_id:
            matches = ["pk = :run"]
            values[":run"] = {"S": f"run#{run_id}"}
            if prefix:
                matches += ["begins_with(search_title, :q)", "begins_with(search_prompt, :q)"]
                values[":q"] = {"S": prefix}
            filters.append(f"({' OR '.join(matches)})")

        def query_from(start: str | None, projection: tuple[str, ...]) -> dict[str, Any]:
            # Attribute names go through placeholders: some (status) are reserved words.
            request: dict[str, Any] = {
                "TableName": self._state,
                "IndexName": BY_ORG_INDEX,
                "KeyConditionExpression": "org_id = :o",
                "ExpressionAttributeValues": dict(values),
                "ExpressionAttributeNames": {**names, **{f"#{a}": a for a in projection}},
                "ProjectionExpression": ", ".join(f"#{a}" for a in projection),
                "ScanIndexForward": False,
            }
            if start is not None:
                request["KeyConditionExpression"] += " AND created_key < :start"
                request["ExpressionAttributeValues"][":start"] = {"S": start}
            if filters:
                request["FilterExpression"] = " AND ".join(filters)
            return request

        start = after.created_key if after is not None else None
        filtered = bool(filters)
        # Skipping to a deep page reads only keys; the page itself reads summaries, one more
        # than it shows to tell whether another page follows.
        if query.offset:
            skipped = self._index_items(
                query_from(start, ("pk", "created_key")), query.offset, filtered=filtered
            )
            if len(skipped) < query.offset:
                return RunPage(runs=())
            start = skipped[-1]["created_key"]["S"]
        listed = query_from(start, ("pk", "created_key", "summary"))
        items = self._index_items(listed, query.page_size + 1, filtered=filtered)
        runs = self._summaries(items[: query.page_size])
        more = len(items) > query.page_size
        return RunPage(runs=runs, next_cursor=ListPosition.of(runs[-1]).encode() if more else None)

    def _index_items(self, kwargs: dict[str, Any], wanted: int, *, filtered: bool) -> list[dict[str, Any]]:
        """Up to `wanted` matching index items from the start of the query, in its order."""
        if wanted <= 0:
            return []
        query = dict(kwargs)
        out: list[dict[str, Any]] = []
        while True:
            query["Limit"] = _FILTERED_BATCH if filtered else wanted - len(out)
            page = call(self._ddb.query, **query)
            out += page.get("Items", [])
            if len(out) >= wanted:
                return out[:wanted]
            if "LastEvaluatedKey" not in page:
                return out
            query["ExclusiveStartKey"] = page["LastEvaluatedKey"]

    def _summaries(self, items: list[dict[str, Any]]) -> tuple[RunSummary, ...]:
        """The items' summaries; a view written before summaries existed is read whole once."""
        old = [item["pk"] for item in items if "summary" not in item]
        bodies: dict[str, str] = {}
        for start in range(0, len(old), 100):
            keys = [{"pk": pk, "sk": {"S": "view"}} for pk in old[start : start + 100]]
            request: dict[str, Any] = {self._state: {"Keys": keys, "ProjectionExpression": "pk, body"}}
            while request:
                answer = call(self._ddb.batch_get_item, RequestItems=request)
                for item in answer.get("Responses", {}).get(self._state, []):
                    bodies[item["pk"]["S"]] = item["body"]["S"]
                request = answer.get("UnprocessedKeys") or {}
        return tuple(
            RunSummary.model_validate_json(item["summary"]["S"])
            if "summary" in item
            else RunSummary.of(RunView.model_validate_json(bodies[item["pk"]["S"]]))
            for item in items
        )

    def unstarted_before(self, cutoff: datetime) -> list[str]:
        """Runs still created or queued that were submitted before `cutoff`, oldest first."""
        found: list[tuple[str, str]] = []
        for shard in range(UNSTARTED_SHARDS):
            kwargs: dict[str, Any] = {
                "TableName": self._state,
                "IndexName": UNSTARTED_INDEX,
                "KeyConditionExpression": "unstarted = :s AND created_key < :c",
                "ExpressionAttributeValues": {":s": {"S": str(shard)}, ":c": {"S": cutoff.isoformat()}},
            }
            while True:
                page = call(self._ddb.query, **kwargs)
                found += [(i["created_key"]["S"], i["pk"]["S"].removeprefix("run#")) for i in page["Items"]]
                if "LastEvaluatedKey" not in page:
                    break
                kwargs["ExclusiveStartKey"] = page["LastEvaluatedKey"]
        return [run_id for _, run_id in sorted(found)]

    def claim_owner(self, key: str) -> ClaimRecord | None:
        item = call(self._ddb.get_item, TableName=self._state, Key=claim_key(key), ConsistentRead=True).get(
            "Item"
        )
        if not item:
            return None
        return ClaimRecord(key=key, run_id=item["run_id"]["S"], fingerprint=item["fingerprint"]["S"])

    def get_artifact(self, artifact_id: str) -> ArtifactRecord | None:
        item = call(
            self._ddb.get_item,
            TableName=self._state,
            Key={"pk": {"S": f"artifact#{artifact_id}"}, "sk": {"S": "ref"}},
            ConsistentRead=True,
        ).get("Item")
        return ArtifactRecord.model_validate_json(item["body"]["S"]) if item else None

    def list_artifacts(self, run_id: str) -> list[ArtifactRecord]:
        kwargs: dict[str, Any] = {
            "TableName": self._state,
            "KeyConditionExpression": "pk = :p AND begins_with(sk, :a)",
            "ExpressionAttributeValues": {":p": {"S": f"run#{run_id}"}, ":a": {"S": "artifact#"}},
            "ConsistentRead": True,
        }
        out: list[ArtifactRecord] = []
        while True:
            page = call(self._ddb.query, **kwargs)
            out += [ArtifactRecord.model_validate_json(i["body"]["S"]) for i in page.get("Items", [])]
            if "LastEvaluatedKey" not in page:
                return out
            kwargs["ExclusiveStartKey"] = page["LastEvaluatedKey"]


def create_tables(client: DynamoDBClient, *, events_table: str, state_table: str) -> None:
    """Create both tables as template.yaml declares them (tests and local tools)."""
    client.create_table(
        TableName=events_table,
        KeySchema=[
            {"AttributeName": "run_id", "KeyType": "HASH"},
            {"AttributeName": "seq", "KeyType": "RANGE"},
        ],
        AttributeDefinitions=[
            {"AttributeName": "run_id", "AttributeType": "S"},
            {"AttributeName": "seq", "AttributeType": "N"},
        ],
        BillingMode="PAY_PER_REQUEST",
        StreamSpecification={"StreamEnabled": True, "StreamViewType": "NEW_IMAGE"},
    )
    client.create_table(
        TableName=state_table,
        KeySchema=[{"AttributeName": "pk", "KeyType": "HASH"}, {"AttributeName": "sk", "KeyType": "RANGE"}],
        AttributeDefinitions=[
            {"AttributeName": "pk", "AttributeType": "S"},
            {"AttributeName": "sk", "AttributeType": "S"},
            {"AttributeName": "org_id", "AttributeType": "S"},
            {"AttributeName": "created_key", "AttributeType": "S"},
            {"AttributeName": "unstarted", "AttributeType": "S"},
        ],
        GlobalSecondaryIndexes=[
            {
                "IndexName": BY_ORG_INDEX,
                "KeySchema": [
                    {"AttributeName": "org_id", "KeyType": "HASH"},
                    {"AttributeName": "created_key", "KeyType": "RANGE"},
                ],
                "Projection": {"ProjectionType": "INCLUDE", "NonKeyAttributes": list(LISTING_ATTRIBUTES)},
            },
            {
                "IndexName": UNSTARTED_INDEX,
                "KeySchema": [
                    {"AttributeName": "unstarted", "KeyType": "HASH"},
                    {"AttributeName": "created_key", "KeyType": "RANGE"},
                ],
                "Projection": {"ProjectionType": "KEYS_ONLY"},
            },
        ],
        BillingMode="PAY_PER_REQUEST",
    )
