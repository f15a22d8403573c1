"""Reading a pushed message's one-time code with the cheaper model, for the messages whose
code the deterministic patterns (`domain.otp.parse_content`) do not find.

Called from the push route's worker thread (never from an event loop), so each read runs its
own short event loop, with a model client of its own (an async client belongs to one loop).
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable

from altostratus.adapters.anthropic_llm import AnthropicLLM, LLMRetryPolicy
from altostratus.domain import otp
from altostratus.ports.llm import LLMClient, LLMError, LLMRequest


class ModelOtpReader:
    """`reader(content)` -> the code or link the model finds in the message, or None."""

    def __init__(
        self,
        model: str,
        *,
        api_key: Callable[[], str | None] | None = None,
        base_url: str | None = None,
        timeout_s: float = 30.0,
        retry: LLMRetryPolicy | None = None,
    ) -> None:
        self._model = model
        self._api_key = api_key or (lambda: None)
        self._base_url = base_url
        self._timeout_s = timeout_s
        self._retry = retry

    def _client(self, key: str) -> LLMClient:
        return AnthropicLLM(
            api_key=key, base_url=self._base_url, timeout_s=self._timeout_s, retry=self._retry
        )

    def __call__(self, content: str) -> otp.ParsedOtp | None:
        key = self._api_key()
        if key is None:
            # A deployment without a model keeps such messages raw, as if nothing were found.
            return None
        request = LLMRequest(
            model=self._model,
            system=[{"type": "text", "text": otp.READ_INSTRUCTIONS}],
            messages=[
                {"role": "user", "content": [{"type": "text", "text": content[: otp.MODEL_READ_MAX_CHARS]}]}
            ],
            tools=[otp.READ_TOOL_SCHEMA],
            tool_choice={"type": "tool", "name": otp.READ_TOOL},
            max_tokens=256,
            purpose="otp",
        )
        try:
            response = asyncio.run(self._client(key).complete(request))
        except LLMError as exc:
            raise otp.OtpReadUnavailableError(exc.reason) from exc
        for call in response.tool_calls:
            if call.name == otp.READ_TOOL:
                return otp.from_model(call.input, content)
        return None
