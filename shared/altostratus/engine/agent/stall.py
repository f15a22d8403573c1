"""Loop and stall detection: the same action on an unchanged page, again and again.

Each batch of actions is reduced to a signature (tools and their arguments) and paired with
the fingerprint of the page it ran on. Repeating the pair escalates: a nudge, then a forced
re-plan, then the run stops with a reason that names the repeated action.
"""

from __future__ import annotations

import hashlib
import json
from enum import IntEnum
from typing import Any

from pydantic import BaseModel


class Escalation(IntEnum):
    NONE = 0
    NUDGE = 1
    REPLAN = 2
    STOP = 3


def action_signature(calls: list[tuple[str, Any]]) -> str:
    """A stable hash of a batch: tool names and arguments, reasoning-like fields left out."""
    normal = [(name, _strip(params)) for name, params in calls]
    return hashlib.sha256(json.dumps(normal, sort_keys=True, default=str).encode()).hexdigest()[:16]


def _strip(params: Any) -> Any:
    if isinstance(params, dict):
        return {k: v for k, v in params.items() if k not in ("reasoning", "intention")}
    return params


class StallMemory(BaseModel):
    """Serializable detector state (part of the agent's checkpoint)."""

    last_signature: str | None = None
    last_fingerprint: str | None = None
    repeats: int = 1
    last_description: str = ""

    def record(
        self,
        *,
        signature: str,
        page_fingerprint: str,
        description: str,
        nudge_at: int,
        replan_at: int,
        stop_at: int,
    ) -> Escalation:
        """Note a batch run on a page; how far to escalate given the history."""
        same = signature == self.last_signature and page_fingerprint == self.last_fingerprint
        self.repeats = self.repeats + 1 if same else 1
        self.last_signature = signature
        self.last_fingerprint = page_fingerprint
        self.last_description = description
        if self.repeats >= stop_at:
            return Escalation.STOP
        if self.repeats >= replan_at:
            return Escalation.REPLAN
        if self.repeats >= nudge_at:
            return Escalation.NUDGE
        return Escalation.NONE


NUDGE_TEXT = (
    "You repeated the same action on a page that did not change ({what}). It is not working. "
    "Look at the page state again and try something different."
)
REPLAN_TEXT = (
    "You have now repeated {what} {times} times on an unchanged page. Stop and re-plan: state "
    "what you have achieved, what is missing, and choose a different approach (another element, "
    "scrolling, `find`, or navigating elsewhere). If the goal is truly impossible, call `terminate`."
)


def stop_reason(memory: StallMemory) -> str:
    return (
        f"The agent repeated the same action ({memory.last_description}) {memory.repeats} times on a "
        "page that did not change, and stopped to avoid looping."
    )
