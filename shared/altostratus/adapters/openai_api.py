"""The OpenAI-shaped ports over the official `openai` SDK (AsyncOpenAI).

One class serves both ports: the Responses API (`openai-cua`) and an OpenAI-compatible Chat
Completions endpoint (`ui-tars` on vLLM, Hugging Face endpoints or Volcengine Ark). The SDK's
retries are off (`max_retries=0`); the retry policy is the one the Anthropic adapter uses.
"""

from __future__ import annotations

import asyncio
import random
import time
import weakref
from collections.abc import Awaitable, Callable
from typing import Any

import openai

from altostratus.adapters.anthropic_llm import LLMRetryPolicy, is_retryable_status
from altostratus.adapters.sdk_tls import tls_context
from altostratus.ports.llm import LLMAuthError, LLMError, LLMRequestRejectedError, LLMUnavailableError
from altostratus.ports.openai_api import ApiReply


def _retry_after(exc: openai.APIStatusError) -> float | None:
    value = exc.response.headers.get("retry-after")
    try:
        return float(value) if value is not None else None
    except ValueError:
        return None


def _message(exc: openai.APIStatusError) -> str:
    body = exc.body
    if isinstance(body, dict):
        error = body.get("error", body)
        if isinstance(error, dict) and isinstance(error.get("message"), str):
            return str(error["message"])[:300]
    return "no details"


class OpenAIApi:
    """`ResponsesClient` and `ChatClient` over `openai.AsyncOpenAI`.

    `name` says which service this is in failure reasons ("the OpenAI API", "the UI-TARS
    endpoint"); `setting` names the setting to fix when no key is configured.
    """

    def __init__(
        self,
        *,
        api_key: str | None,
        base_url: str | None = None,
        name: str = "the OpenAI API",
        setting: str = "ALTO_OPENAI_API_KEY",
        timeout_s: float = 120.0,
        retry: LLMRetryPolicy | None = None,
        sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
    ) -> None:
        self._api_key = api_key or None
        self._base_url = base_url
        self._name = name
        self._setting = setting
        self._timeout_s = timeout_s
        self._retry = retry or LLMRetryPolicy()
        self._sleep = sleep
        # One client per event loop (each slice may run on its own loop).
        self._clients: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, openai.AsyncOpenAI] = (
            weakref.WeakKeyDictionary()
        )

    def _client(self) -> openai.AsyncOpenAI:
        if not self._api_key:
            raise LLMAuthError(f"no API key is configured for {self._name}: set {self._setting}")
        loop = asyncio.get_running_loop()
        client = self._clients.get(loop)
        if client is None:
            client = openai.AsyncOpenAI(
                api_key=self._api_key,
                base_url=self._base_url,
                timeout=self._timeout_s,
                max_retries=0,
                http_client=openai.DefaultAsyncHttpxClient(verify=tls_context()),
            )
            self._clients[loop] = client
        return client

    async def create(self, body: dict[str, Any]) -> ApiReply:
        client = self._client()
        return await self._call(lambda: client.responses.create(**body))

    async def complete(self, body: dict[str, Any]) -> ApiReply:
        client = self._client()
        return await self._call(lambda: client.chat.completions.create(**{**body, "stream": False}))

    async def _call(self, send: Callable[[], Awaitable[Any]]) -> ApiReply:
        started = time.perf_counter()
        attempt = 0
        while True:
            attempt += 1
            try:
                result = await send()
            except openai.APIStatusError as exc:
                error = self._final(exc)
                if error is not None:
                    raise error from exc
                if attempt >= self._retry.max_attempts:
                    raise LLMUnavailableError(
                        f"{self._name} kept failing with HTTP {exc.status_code}; "
                        f"gave up after {attempt} attempts"
                    ) from exc
                await self._sleep(self._retry.delay(attempt, _retry_after(exc), rand=random.random()))
            except openai.APIConnectionError as exc:
                if attempt >= self._retry.max_attempts:
                    what = "timed out" if isinstance(exc, openai.APITimeoutError) else "was unreachable"
                    raise LLMUnavailableError(
                        f"{self._name} {what}; gave up after {attempt} attempts"
                    ) from exc
                await self._sleep(self._retry.delay(attempt, None, rand=random.random()))
            else:
                body = result.model_dump(mode="json", exclude_unset=False)
                return ApiReply(
                    body=body, latency_ms=(time.perf_counter() - started) * 1000, attempts=attempt
                )

    def _final(self, exc: openai.APIStatusError) -> LLMError | None:
        status = exc.status_code
        if status in (401, 403):
            return LLMAuthError(f"{self._name} refused the API key (HTTP {status})")
        if is_retryable_status(status):
            return None
        return LLMRequestRejectedError(f"{self._name} rejected the request (HTTP {status}): {_message(exc)}")
