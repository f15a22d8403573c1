"""Ports for OpenAI-shaped model APIs: the Responses API and Chat Completions.

Both are JSON in, JSON out: the computer-use adapters build the wire bodies themselves (each
protocol has its own), and the port adds the retry policy, latency and the error taxonomy of
`ports.llm` (`LLMAuthError`, `LLMUnavailableError`, `LLMRequestRejectedError`, whose `reason`
is safe to show as a run's failure_reason).
"""

from __future__ import annotations

from typing import Any, Protocol

from pydantic import BaseModel, ConfigDict


class ApiReply(BaseModel):
    """A provider's JSON answer, with the wall time of the call including retries."""

    model_config = ConfigDict(frozen=True)

    body: dict[str, Any]
    latency_ms: float = 0.0
    attempts: int = 1


class ResponsesClient(Protocol):
    async def create(self, body: dict[str, Any]) -> ApiReply:
        """POST /v1/responses with `body`; raises an LLMError subclass on failure."""
        ...


class ChatClient(Protocol):
    async def complete(self, body: dict[str, Any]) -> ApiReply:
        """POST /chat/completions with `body` (not streamed); raises an LLMError subclass."""
        ...
