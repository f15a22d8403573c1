"""What running one tool call produced, as the model (a tool_result) and the timeline see it."""

from __future__ import annotations

import base64
from dataclasses import dataclass, field
from typing import Any

from altostratus.domain.enums import ActionStatus, ArtifactType
from altostratus.domain.lifecycle import RunOutcome
from altostratus.domain.replay.targets import ObservedEffect, SelectorBundle
from altostratus.engine.agent.context import RunContext
from altostratus.engine.agent.recorder import Recorder
from altostratus.ports.llm import LLMRequest, LLMResponse


@dataclass
class CallResult:
    summary: str
    ok: bool = True
    status: ActionStatus | None = None
    extra_blocks: list[dict[str, Any]] = field(default_factory=list)
    details: dict[str, Any] = field(default_factory=dict)
    page_changed: bool = False
    outcome: RunOutcome | None = None
    # The element acted on and the effect seen (secrets hidden), for a compiled replay.
    target: SelectorBundle | None = None
    observed: ObservedEffect | None = None

    def tool_result(self, call_id: str) -> dict[str, Any]:
        text = self.summary.strip() or ("ok" if self.ok else "failed")
        content: list[dict[str, Any]] = [{"type": "text", "text": text}, *self.extra_blocks]
        block: dict[str, Any] = {"type": "tool_result", "tool_use_id": call_id, "content": content}
        if not self.ok:
            block["is_error"] = True
        return block


def image_block(png: bytes) -> dict[str, Any]:
    return {
        "type": "image",
        "source": {"type": "base64", "media_type": "image/png", "data": base64.b64encode(png).decode()},
    }


def record_exchanges(ctx: RunContext, rec: Recorder, exchanges: list[tuple[LLMRequest, LLMResponse]]) -> None:
    if not ctx.deps.settings.store_llm_exchanges:
        return
    for request, response in exchanges:
        rec.json_artifact(ArtifactType.LLM_REQUEST, request.wire())
        rec.json_artifact(ArtifactType.LLM_RESPONSE, response.model_dump(mode="json"))
