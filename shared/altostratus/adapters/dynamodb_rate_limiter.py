"""The AWS runtime's rate limiter: one item per key in the state table, shared by every
Lambda instance of the API.

The item holds the bucket's `tat` (see domain/rate_limit.py), in microseconds. Admitting a
request is one conditional UpdateItem: `tat = tat + interval` if `now <= tat <= now +
tolerance` (the bucket is partly used), or `tat = now + interval` if the item is new or
`tat < now` (the bucket is full). When the condition fails DynamoDB returns the item as it is,
which says whether to refuse or to take the other branch. Each instance remembers the last
`tat` it saw: `tat` only grows, so when that alone says "refuse" the request is refused
without asking DynamoDB, and a flood from one key costs DynamoDB little.
"""

from __future__ import annotations

import logging
import threading
from typing import Any

from botocore.exceptions import BotoCoreError, ClientError

from altostratus.adapters.dynamodb_errors import refused
from altostratus.domain.rate_limit import RateDecision, RateLimit, micros, refused_until
from altostratus.ports.clock import Clock

logger = logging.getLogger("altostratus.api")

# A bucket item is deleted by the table's TTL (this attribute, template.yaml) this long after
# it is full again.
EXPIRY_ATTRIBUTE = "expiration"
_EXPIRY_MARGIN_S = 60
_ATTEMPTS = 3
_PRUNE_AT = 10_000


def _number(value: int) -> dict[str, str]:
    return {"N": str(value)}


class DynamoDBRateLimiter:
    def __init__(self, client: Any, *, state_table: str, limit: RateLimit, clock: Clock) -> None:
        self._ddb = client
        self._table = state_table
        self._limit = limit
        self._clock = clock
        self._seen: dict[str, int] = {}
        self._lock = threading.Lock()

    @property
    def limit(self) -> RateLimit:
        return self._limit

    def acquire(self, subject: str) -> RateDecision:
        now = micros(self._clock.now())
        with self._lock:
            known = self._seen.get(subject)
        try:
            for _ in range(_ATTEMPTS):
                if known is not None and (refusal := refused_until(self._limit, known, now)):
                    return refusal
                known, admitted = self._update(subject, now, fresh=known is None or known < now)
                if known is not None:
                    self._remember(subject, known, now)
                if admitted:
                    return RateDecision(True)
        except (ClientError, BotoCoreError) as exc:
            # Fail open: the caller is already authenticated, and the limiter guards capacity,
            # not access. Refusing everyone because the bucket item cannot be updated would turn
            # a DynamoDB throttle or outage of this one item into an outage of the whole API.
            logger.warning("rate limiter unavailable, admitting the request: %s", type(exc).__name__)
            return RateDecision(True)
        # Only writers racing at the edge of a nearly full bucket get here; let it through.
        return RateDecision(True)

    def _remember(self, subject: str, tat: int, now: int) -> None:
        with self._lock:
            self._seen[subject] = max(tat, self._seen.get(subject, tat))
            if len(self._seen) > _PRUNE_AT:  # full buckets say nothing; keep the memory bounded
                self._seen = {s: t for s, t in self._seen.items() if t > now}

    def _update(self, subject: str, now: int, *, fresh: bool) -> tuple[int | None, bool]:
        """(the bucket's tat after the attempt or as found, whether the request was admitted)."""
        interval, ceiling = self._limit.interval_us, now + self._limit.tolerance_us
        expires = (ceiling + interval) // 1_000_000 + 1 + _EXPIRY_MARGIN_S
        values: dict[str, Any] = {":now": _number(now), ":exp": _number(expires)}
        if fresh:
            update = f"SET tat = :start, {EXPIRY_ATTRIBUTE} = :exp"
            condition = "attribute_not_exists(tat) OR tat < :now"
            values[":start"] = _number(now + interval)
        else:
            update = f"SET tat = tat + :i, {EXPIRY_ATTRIBUTE} = :exp"
            condition = "tat BETWEEN :now AND :ceiling"
            values |= {":i": _number(interval), ":ceiling": _number(ceiling)}
        try:
            reply = self._ddb.update_item(
                TableName=self._table,
                Key={"pk": {"S": f"ratelimit#{subject}"}, "sk": {"S": "bucket"}},
                UpdateExpression=update,
                ConditionExpression=condition,
                ExpressionAttributeValues=values,
                ReturnValues="UPDATED_NEW",
                ReturnValuesOnConditionCheckFailure="ALL_OLD",
            )
        except ClientError as exc:
            if not refused(exc):
                raise
            item = exc.response.get("Item") or {}
            return (int(item["tat"]["N"]) if "tat" in item else None), False
        return int(reply["Attributes"]["tat"]["N"]), True
