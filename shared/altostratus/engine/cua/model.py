"""What the computer-use core and its protocol adapters exchange.

One step: the core shows the adapter the screen (`Feedback`: a screenshot at the display size
and what each action of the previous decision did), the adapter asks its model and returns a
`Decision` (pixel actions in viewport pixels, each with the call id and the protocol's own
action name and parameters, or a signal: done, terminate, a question). The adapter keeps its
provider's conversation state in a JSON dict that is part of the run's checkpoint.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from altostratus.domain.enums import ActionType
from altostratus.ports.computer import PixelAction
from altostratus.ports.llm import LLMUsage


class ActionResult(BaseModel):
    """What one planned action did, as its protocol's feedback needs it."""

    model_config = ConfigDict(frozen=True)

    call_id: str
    ok: bool
    summary: str
    hit: str | None = None
    # Run and answered, but skipped (the page changed under an earlier action of the batch).
    skipped: bool = False


class Feedback(BaseModel):
    """The screen and what the last actions did. Every text derived from the page (the title,
    the effect summaries with the elements hit) is already inside the run's page-data fence:
    `location` and each result's `summary` go to the model as they are."""

    model_config = ConfigDict(frozen=True)

    screenshot: bytes
    url: str
    location: str
    results: tuple[ActionResult, ...] = ()
    # Engine notes for the model (a nudge, the answer to its question).
    notes: tuple[str, ...] = ()


class Planned(BaseModel):
    """One action of a decision. `action` None: nothing to execute (a screenshot request);
    `error`: the protocol's action could not be mapped (answered as failed, never dropped)."""

    model_config = ConfigDict(frozen=True)

    call_id: str
    name: str  # the protocol's action name (left_click, double_click, hotkey, ...)
    action_type: ActionType
    params: dict[str, Any] = Field(default_factory=dict)  # as the model wrote them
    action: PixelAction | None = None
    # Or one of the browser's own tools (navigate, back) with its params.
    browser_tool: str | None = None
    browser_params: dict[str, Any] = Field(default_factory=dict)
    error: str | None = None
    # The text typed holds a secret placeholder (resolved only at execution).
    secret: bool = False


class SafetyCheck(BaseModel):
    model_config = ConfigDict(frozen=True)

    id: str
    code: str | None = None
    message: str | None = None


class Exchange(BaseModel):
    """A wire request and response, images replaced by a stub (for the llm_* artifacts)."""

    request: dict[str, Any]
    response: dict[str, Any]


class Decision(BaseModel):
    reasoning: str | None = None
    actions: list[Planned] = Field(default_factory=list)
    done: str | None = None
    terminate: str | None = None
    error_code: str | None = None
    question: str | None = None
    safety_checks: list[SafetyCheck] = Field(default_factory=list)
    usage: LLMUsage = LLMUsage()
    latency_ms: float = 0.0
    exchanges: list[Exchange] = Field(default_factory=list)


class CuaModel(ABC):
    """One protocol (OpenAI Responses, Anthropic Messages, UI-TARS chat) over its port: the
    engine's own strategy, not a port (each talks to an LLM port)."""

    @abstractmethod
    async def decide(self, state: dict[str, Any], feedback: Feedback) -> Decision:
        """Ask the model for the next actions; updates `state` (the checkpointed conversation)."""
