"""The AWS event bus: EventBridge PutEvents on the project's bus."""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Any

from botocore.exceptions import BotoCoreError, ClientError

from altostratus.ports.bus import BusMessage, BusUnavailableError

# boto3 ships no type hints.
EventBridgeClient = Any

_MAX_ENTRIES = 10  # PutEvents accepts at most 10 entries per call


class EventBridgeBus:
    def __init__(self, client: EventBridgeClient, *, bus_name: str) -> None:
        self._client = client
        self._bus_name = bus_name

    def publish(self, messages: Sequence[BusMessage]) -> None:
        failed: list[int] = []
        reasons: set[str] = set()
        for start in range(0, len(messages), _MAX_ENTRIES):
            chunk = messages[start : start + _MAX_ENTRIES]
            entries = [self._entry(m) for m in chunk]
            try:
                reply = self._client.put_events(Entries=entries)
            except (ClientError, BotoCoreError) as exc:
                failed += range(start, start + len(chunk))
                reasons.add(type(exc).__name__)
                continue
            if reply.get("FailedEntryCount", 0):
                for offset, result in enumerate(reply.get("Entries", [])):
                    if "ErrorCode" in result:
                        failed.append(start + offset)
                        reasons.add(str(result["ErrorCode"]))
        if failed:
            raise BusUnavailableError(
                f"EventBridge did not accept {len(failed)} of {len(messages)} events "
                f"({', '.join(sorted(reasons))})",
                failed=failed,
            )

    def _entry(self, message: BusMessage) -> dict[str, Any]:
        return {
            "Source": message.source,
            "DetailType": message.detail_type,
            "Detail": json.dumps(message.detail, separators=(",", ":"), ensure_ascii=False),
            "Time": message.time,
            "Resources": list(message.resources),
            "EventBusName": self._bus_name,
        }
