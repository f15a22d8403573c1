"""Running our own JavaScript in an isolated world of a frame, never in the page's.

Page scripts cannot see or patch what runs in an isolated world (it has its own globals and
prototypes) yet it shares the DOM, so reading values, hit-testing or watching mutations there
leaves no trace in the page. One world per (target, frame, document) is created on demand.
"""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Any

from playwright.async_api import Error as PlaywrightError

if TYPE_CHECKING:
    from altostratus.adapters.browser.perception.capture import Target

WORLD_NAME = "altostratus"


class ScriptError(Exception):
    """Our script threw inside the page (a bug, or the node is gone)."""


class IsolatedWorlds:
    """Execution contexts of our isolated world, per (target key, frame id)."""

    def __init__(self) -> None:
        self._contexts: dict[tuple[str, str], int] = {}

    async def context_id(self, target: Target, frame_id: str, *, fresh: bool = False) -> int:
        key = (target.key, frame_id)
        if not fresh and key in self._contexts:
            return self._contexts[key]
        result = await target.cdp.send(
            "Page.createIsolatedWorld",
            {"frameId": frame_id, "worldName": WORLD_NAME, "grantUniveralAccess": False},
        )
        context = int(result["executionContextId"])
        self._contexts[key] = context
        return context

    async def resolve(self, target: Target, frame_id: str, backend_node_id: int) -> str:
        """An object id for the node inside our world; raises PlaywrightError when the node is gone."""
        for fresh in (False, True):
            context = await self.context_id(target, frame_id, fresh=fresh)
            try:
                result = await target.cdp.send(
                    "DOM.resolveNode", {"backendNodeId": backend_node_id, "executionContextId": context}
                )
                return str(result["object"]["objectId"])
            except PlaywrightError:
                if fresh:
                    raise
        raise AssertionError("unreachable")

    async def call(self, target: Target, object_id: str, function: str, *args: Any) -> Any:
        """Call `function` with `this` bound to the object; returns its JSON value."""
        result = await target.cdp.send(
            "Runtime.callFunctionOn",
            {
                "objectId": object_id,
                "functionDeclaration": function,
                "arguments": [{"value": a} for a in args],
                "returnByValue": True,
                "awaitPromise": True,
            },
        )
        if "exceptionDetails" in result:
            details = result["exceptionDetails"]
            text = (details.get("exception") or {}).get("description") or details.get("text", "")
            raise ScriptError(str(text)[:300])
        return (result.get("result") or {}).get("value")

    async def call_for_node(self, target: Target, object_id: str, function: str, *args: Any) -> str | None:
        """Call `function` (which returns a node or null) and return the node's object id."""
        result = await target.cdp.send(
            "Runtime.callFunctionOn",
            {
                "objectId": object_id,
                "functionDeclaration": function,
                "arguments": [{"value": a} for a in args],
                "returnByValue": False,
            },
        )
        if "exceptionDetails" in result:
            raise ScriptError(str(result["exceptionDetails"].get("text", ""))[:300])
        remote = result.get("result") or {}
        return str(remote["objectId"]) if remote.get("subtype") == "node" and "objectId" in remote else None

    async def evaluate(self, target: Target, frame_id: str, expression: str, *args: Any) -> Any:
        """Evaluate `(expression)(...args)` in the frame's world, awaiting a returned promise."""
        call = f"({expression})(...{json.dumps(list(args))})"
        for fresh in (False, True):
            context = await self.context_id(target, frame_id, fresh=fresh)
            try:
                result = await target.cdp.send(
                    "Runtime.evaluate",
                    {"expression": call, "contextId": context, "returnByValue": True, "awaitPromise": True},
                )
            except PlaywrightError:
                if fresh:
                    raise
                continue
            if "exceptionDetails" in result:
                details = result["exceptionDetails"]
                text = (details.get("exception") or {}).get("description") or details.get("text", "")
                raise ScriptError(str(text)[:300])
            return (result.get("result") or {}).get("value")
        return None

    def forget_target(self, key: str) -> None:
        for known in [k for k in self._contexts if k[0] == key]:
            del self._contexts[known]
