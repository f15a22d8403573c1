"""The LLM port over the official `anthropic` SDK (AsyncAnthropic, Messages API).

The SDK's own retries are switched off (`max_retries=0`) so that the retry policy is ours,
explicit and testable: which failures are retried, how long to wait (exponential backoff with
jitter, honouring `retry-after`), and how many times before `LLMUnavailableError`.
"""

from __future__ import annotations

import asyncio
import random
import time
import weakref
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any, cast

import anthropic

from altostratus.adapters.sdk_tls import tls_context
from altostratus.domain.models import cost_usd
from altostratus.ports.llm import (
    LLMAuthError,
    LLMError,
    LLMRequest,
    LLMRequestRejectedError,
    LLMResponse,
    LLMUnavailableError,
    LLMUsage,
    TextBlock,
    ToolCall,
)

# 408 request timeout, 409 lock timeout, 429 rate limit, 5xx including 529 overloaded.
RETRYABLE_STATUS = frozenset({408, 409, 429})


@dataclass(frozen=True)
class LLMRetryPolicy:
    """How transient failures are retried: attempt n waits about base * 2**(n-1), capped,
    with +-`jitter` spread; a `retry-after` header within the cap wins."""

    max_attempts: int = 5
    base_delay_s: float = 1.0
    max_delay_s: float = 30.0
    jitter: float = 0.25

    def delay(self, attempt: int, retry_after_s: float | None = None, *, rand: float = 0.5) -> float:
        if retry_after_s is not None and 0 <= retry_after_s <= self.max_delay_s:
            return retry_after_s
        raw: float = min(self.base_delay_s * 2.0 ** (attempt - 1), self.max_delay_s)
        return max(0.0, raw * (1 + self.jitter * (2 * rand - 1)))


def is_retryable_status(status: int) -> bool:
    return status in RETRYABLE_STATUS or status >= 500


def _retry_after(exc: anthropic.APIStatusError) -> float | None:
    value = exc.response.headers.get("retry-after")
    if value is None:
        return None
    try:
        return float(value)
    except ValueError:
        return None


def _status_reason(status: int) -> str:
    if status == 429:
        return "the Anthropic API kept rate-limiting requests (429)"
    if status == 529:
        return "the Anthropic API stayed overloaded (529)"
    return f"the Anthropic API kept failing with HTTP {status}"


class AnthropicLLM:
    """`LLMClient` over `anthropic.AsyncAnthropic`.

    Parameters
    ----------
    api_key
        The key; None or empty makes every call fail with LLMAuthError (a clear run failure
        instead of a crash at start-up).
    base_url
        The API address; tests point it at the fake Messages server.
    client
        A ready AsyncAnthropic to use instead of building one (its retries should be 0).
    """

    def __init__(
        self,
        *,
        api_key: str | None,
        base_url: str | None = None,
        timeout_s: float = 120.0,
        retry: LLMRetryPolicy | None = None,
        client: anthropic.AsyncAnthropic | None = None,
        sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
    ) -> None:
        self._api_key = api_key or None
        self._retry = retry or LLMRetryPolicy()
        self._sleep = sleep
        self._given_client = client
        self._base_url = base_url
        self._timeout_s = timeout_s
        # An async HTTP client belongs to the event loop it first ran on, and each slice of a
        # run (or each worker thread) has its own loop: one client per loop, dropped with it.
        self._clients: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, anthropic.AsyncAnthropic] = (
            weakref.WeakKeyDictionary()
        )

    @property
    def _client(self) -> anthropic.AsyncAnthropic | None:
        if self._given_client is not None or not self._api_key:
            return self._given_client
        loop = asyncio.get_running_loop()
        client = self._clients.get(loop)
        if client is None:
            client = anthropic.AsyncAnthropic(
                api_key=self._api_key,
                base_url=self._base_url,
                timeout=self._timeout_s,
                max_retries=0,
                http_client=anthropic.DefaultAsyncHttpxClient(verify=tls_context()),
            )
            self._clients[loop] = client
        return client

    async def complete(self, request: LLMRequest) -> LLMResponse:
        if self._client is None:
            raise LLMAuthError("no Anthropic API key is configured, so the agent cannot call the model")
        started = time.perf_counter()
        attempt = 0
        while True:
            attempt += 1
            try:
                message = await self._create(request)
            except anthropic.APIStatusError as exc:
                error = self._translate_status(exc)
                if error is not None:
                    raise error from exc
                if attempt >= self._retry.max_attempts:
                    reason = f"{_status_reason(exc.status_code)}; gave up after {attempt} attempts"
                    raise LLMUnavailableError(reason) from exc
                await self._sleep(self._retry.delay(attempt, _retry_after(exc), rand=random.random()))
            except anthropic.APIConnectionError as exc:
                # APITimeoutError is a subclass: both mean the API did not answer.
                if attempt >= self._retry.max_attempts:
                    what = "timed out" if isinstance(exc, anthropic.APITimeoutError) else "was unreachable"
                    reason = f"the Anthropic API {what}; gave up after {attempt} attempts"
                    raise LLMUnavailableError(reason) from exc
                await self._sleep(self._retry.delay(attempt, None, rand=random.random()))
            else:
                return self._response(request, message, started, attempt)

    async def _create(self, request: LLMRequest) -> anthropic.types.Message:
        assert self._client is not None
        kwargs: dict[str, Any] = {
            "model": request.model,
            "max_tokens": request.max_tokens,
            "messages": request.messages,
        }
        if request.system:
            kwargs["system"] = request.system
        if request.tools:
            kwargs["tools"] = request.tools
        if request.tool_choice is not None:
            kwargs["tool_choice"] = request.tool_choice
        if request.temperature is not None:
            kwargs["temperature"] = request.temperature
        # The request is wire-format JSON already; the SDK's TypedDicts describe the same shapes.
        if request.betas:
            # Beta tools (the computer tool versions) go through the beta client, which sends
            # the `anthropic-beta` header; its message has the same fields.
            beta = cast(Callable[..., Awaitable[anthropic.types.Message]], self._client.beta.messages.create)
            return await beta(**kwargs, betas=request.betas)
        create = cast(Callable[..., Awaitable[anthropic.types.Message]], self._client.messages.create)
        return await create(**kwargs)

    @staticmethod
    def _translate_status(exc: anthropic.APIStatusError) -> LLMError | None:
        """The port error for a final failure, or None when the status is worth retrying."""
        status = exc.status_code
        if status in (401, 403):
            return LLMAuthError(f"the Anthropic API refused the API key (HTTP {status})")
        if is_retryable_status(status):
            return None
        detail = _error_message(exc)
        return LLMRequestRejectedError(f"the Anthropic API rejected the request (HTTP {status}): {detail}")

    @staticmethod
    def _response(
        request: LLMRequest, message: anthropic.types.Message, started: float, attempts: int
    ) -> LLMResponse:
        blocks: list[TextBlock | ToolCall] = []
        for block in message.content:
            if block.type == "text":
                blocks.append(TextBlock(text=block.text))
            elif block.type == "tool_use":
                blocks.append(ToolCall(id=block.id, name=block.name, input=block.input))
        raw = message.usage
        read = raw.cache_read_input_tokens or 0
        write = raw.cache_creation_input_tokens or 0
        usage = LLMUsage(
            input_tokens=raw.input_tokens,
            cache_read_tokens=read,
            cache_write_tokens=write,
            output_tokens=raw.output_tokens,
            cost_usd=cost_usd(
                request.model,
                input_tokens=raw.input_tokens,
                cache_write_tokens=write,
                cache_read_tokens=read,
                output_tokens=raw.output_tokens,
            ),
            calls=1,
        )
        return LLMResponse(
            id=message.id,
            model=message.model,
            content=tuple(blocks),
            stop_reason=message.stop_reason,
            usage=usage,
            latency_ms=(time.perf_counter() - started) * 1000,
            attempts=attempts,
        )


def _error_message(exc: anthropic.APIStatusError) -> str:
    """The provider's short error message (never the headers, the key or the request)."""
    body = exc.body
    if isinstance(body, dict):
        error = body.get("error")
        if isinstance(error, dict) and isinstance(error.get("message"), str):
            return str(error["message"])[:300]
    return "no details"
