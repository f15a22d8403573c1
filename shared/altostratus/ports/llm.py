"""The LLM port: one Messages-style call with tools, images and prompt caching.

Requests and responses use the Anthropic Messages wire shapes as plain JSON (`system` blocks,
`messages`, `tools`), because that is what the agent's conversation is made of and what its
checkpoint stores; the port adds typed usage, latency and cost, and human-readable errors.

Contract:
- `complete` returns the model's content blocks (text and tool calls) with the call's usage, or
  raises an `LLMError` whose `reason` can be shown to a user as a run's failure_reason: it never
  contains a key, a stack trace or the raw provider response.
- Transient failures (429, 5xx, 529 overloaded, timeouts, connection errors) are retried by the
  adapter with backoff before `LLMUnavailableError` is raised.
"""

from __future__ import annotations

from typing import Annotated, Any, Literal, Protocol

from pydantic import BaseModel, ConfigDict, Field


class LLMUsage(BaseModel):
    """Tokens of one call (or a sum of calls); `input_tokens` excludes cache reads and writes."""

    model_config = ConfigDict(frozen=True)

    input_tokens: int = 0
    cache_read_tokens: int = 0
    cache_write_tokens: int = 0
    output_tokens: int = 0
    cost_usd: float = 0.0
    calls: int = 0

    def __add__(self, other: LLMUsage) -> LLMUsage:
        return LLMUsage(
            input_tokens=self.input_tokens + other.input_tokens,
            cache_read_tokens=self.cache_read_tokens + other.cache_read_tokens,
            cache_write_tokens=self.cache_write_tokens + other.cache_write_tokens,
            output_tokens=self.output_tokens + other.output_tokens,
            cost_usd=round(self.cost_usd + other.cost_usd, 6),
            calls=self.calls + other.calls,
        )


class TextBlock(BaseModel):
    model_config = ConfigDict(frozen=True)
    type: Literal["text"] = "text"
    text: str


class ToolCall(BaseModel):
    """A `tool_use` block. `input` is whatever the model produced: the caller validates it."""

    model_config = ConfigDict(frozen=True)
    type: Literal["tool_use"] = "tool_use"
    id: str
    name: str
    input: Any = None


ContentBlock = Annotated[TextBlock | ToolCall, Field(discriminator="type")]


class LLMRequest(BaseModel):
    """One Messages call. `system`, `messages` and `tools` are wire-format JSON, cache_control
    markers included; `purpose` names the caller (agent, verify, extract) for logs and fakes."""

    model: str
    system: list[dict[str, Any]] = Field(default_factory=list)
    messages: list[dict[str, Any]]
    tools: list[dict[str, Any]] = Field(default_factory=list)
    tool_choice: dict[str, Any] | None = None
    max_tokens: int = 4096
    temperature: float | None = None
    purpose: str = "agent"
    # Beta features the call needs (the `anthropic-beta` header), e.g. a computer tool version.
    betas: list[str] = Field(default_factory=list)

    def wire(self) -> dict[str, Any]:
        """The JSON body of the call, as stored in `llm_request` artifacts."""
        body: dict[str, Any] = {"model": self.model, "max_tokens": self.max_tokens, "messages": self.messages}
        if self.system:
            body["system"] = self.system
        if self.tools:
            body["tools"] = self.tools
        if self.tool_choice is not None:
            body["tool_choice"] = self.tool_choice
        if self.temperature is not None:
            body["temperature"] = self.temperature
        if self.betas:
            body["betas"] = self.betas
        return body


class LLMResponse(BaseModel):
    model_config = ConfigDict(frozen=True)

    id: str
    model: str
    content: tuple[ContentBlock, ...]
    stop_reason: str | None = None
    usage: LLMUsage = LLMUsage()
    # Wall time of the call including retries, so the engine can report its own overhead.
    latency_ms: float = 0.0
    attempts: int = 1

    @property
    def tool_calls(self) -> list[ToolCall]:
        return [b for b in self.content if isinstance(b, ToolCall)]

    @property
    def text(self) -> str:
        return "\n".join(b.text for b in self.content if isinstance(b, TextBlock)).strip()

    def as_message(self) -> dict[str, Any]:
        """The assistant turn to append to the conversation."""
        return {"role": "assistant", "content": [b.model_dump(mode="json") for b in self.content]}


class LLMError(Exception):
    """Base of the port's errors; `reason` is safe to show as a run's failure_reason."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


class LLMAuthError(LLMError):
    """No API key is configured, or the provider refused it (401/403)."""


class LLMUnavailableError(LLMError):
    """The provider stayed unreachable, overloaded or rate-limited through every retry."""


class LLMRequestRejectedError(LLMError):
    """The provider refused the request itself (400/404/413/422): retrying will not help."""


class LLMClient(Protocol):
    async def complete(self, request: LLMRequest) -> LLMResponse:
        """Send one Messages call; raises an LLMError subclass on failure."""
        ...
