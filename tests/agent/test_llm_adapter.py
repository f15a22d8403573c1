"""The Anthropic adapter, driven through the real SDK against the fake Messages server."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator

import pytest

from altostratus.adapters.anthropic_llm import AnthropicLLM, LLMRetryPolicy
from altostratus.domain.models import cost_usd
from altostratus.ports.llm import (
    LLMAuthError,
    LLMRequest,
    LLMRequestRejectedError,
    LLMUnavailableError,
)
from tests.fakes.anthropic_server import FakeAnthropicServer, MessagesRequest, Reply, Text, ToolUse

FAST = LLMRetryPolicy(max_attempts=4, base_delay_s=0.001, max_delay_s=0.01)
LONG_SYSTEM = "You operate a browser. " * 400  # over the 1024-token minimum for caching
TOOLS = [
    {
        "name": "click",
        "description": "Click an element.",
        "input_schema": {"type": "object", "properties": {"element_id": {"type": "string"}}},
    }
]


def _click_policy(request: MessagesRequest) -> Reply:
    return Reply.of(Text("Clicking."), ToolUse("click", {"element_id": "e1"}))


@pytest.fixture
def server() -> Iterator[FakeAnthropicServer]:
    with FakeAnthropicServer(_click_policy) as srv:
        yield srv


def _request(**overrides: object) -> LLMRequest:
    fields: dict[str, object] = {
        "model": "claude-sonnet-4-6",
        "system": [{"type": "text", "text": LONG_SYSTEM, "cache_control": {"type": "ephemeral"}}],
        "tools": TOOLS,
        "messages": [{"role": "user", "content": "Open the page."}],
        "max_tokens": 512,
    }
    fields.update(overrides)
    return LLMRequest.model_validate(fields)


def _complete(llm: AnthropicLLM, request: LLMRequest) -> object:
    return asyncio.run(llm.complete(request))


def test_a_tool_call_comes_back_typed_with_its_usage_and_cost(server: FakeAnthropicServer) -> None:
    # GIVEN the adapter pointed at the fake API
    llm = AnthropicLLM(api_key=server.api_key, base_url=server.base_url, retry=FAST)
    # WHEN it sends one request
    response = asyncio.run(llm.complete(_request()))
    # THEN the tool call, the text and the usage are those the server answered
    assert [(c.name, c.input) for c in response.tool_calls] == [("click", {"element_id": "e1"})]
    assert response.text == "Clicking."
    usage = server.successful()[0].response["usage"]
    assert response.usage.input_tokens == usage["input_tokens"]
    assert response.usage.output_tokens == usage["output_tokens"]
    assert response.usage.cost_usd == cost_usd(
        "claude-sonnet-4-6",
        input_tokens=usage["input_tokens"],
        cache_write_tokens=usage["cache_creation_input_tokens"],
        cache_read_tokens=usage["cache_read_input_tokens"],
        output_tokens=usage["output_tokens"],
    )
    assert response.usage.cost_usd > 0


def test_the_cached_system_prefix_is_read_from_cache_on_the_second_call(server: FakeAnthropicServer) -> None:
    llm = AnthropicLLM(api_key=server.api_key, base_url=server.base_url, retry=FAST)
    first = asyncio.run(llm.complete(_request()))
    second = asyncio.run(llm.complete(_request(messages=[{"role": "user", "content": "Something else."}])))
    assert first.usage.cache_write_tokens > 1000 and first.usage.cache_read_tokens == 0
    assert second.usage.cache_read_tokens == first.usage.cache_write_tokens
    assert second.usage.input_tokens < first.usage.cache_write_tokens / 10


@pytest.mark.parametrize("status", [429, 500, 529])
def test_transient_failures_are_retried_until_an_answer(server: FakeAnthropicServer, status: int) -> None:
    llm = AnthropicLLM(api_key=server.api_key, base_url=server.base_url, retry=FAST)
    server.fail_next(status, status)
    response = asyncio.run(llm.complete(_request()))
    assert response.tool_calls and response.attempts == 3
    assert [e.status for e in server.exchanges] == [status, status, 200]


def test_an_api_that_stays_overloaded_fails_with_a_clear_reason(server: FakeAnthropicServer) -> None:
    llm = AnthropicLLM(api_key=server.api_key, base_url=server.base_url, retry=FAST)
    server.fail_next(529, 529, 529, 529)
    with pytest.raises(LLMUnavailableError) as caught:
        asyncio.run(llm.complete(_request()))
    assert "overloaded" in caught.value.reason and "4 attempts" in caught.value.reason
    assert server.api_key not in caught.value.reason


def test_an_unreachable_api_fails_with_a_clear_reason() -> None:
    llm = AnthropicLLM(api_key="sk-ant-x", base_url="http://127.0.0.1:9", retry=FAST, timeout_s=2)
    with pytest.raises(LLMUnavailableError) as caught:
        asyncio.run(llm.complete(_request()))
    assert "unreachable" in caught.value.reason


def test_a_missing_key_fails_with_a_clear_reason_without_calling_the_api(server: FakeAnthropicServer) -> None:
    llm = AnthropicLLM(api_key=None, base_url=server.base_url, retry=FAST)
    with pytest.raises(LLMAuthError) as caught:
        asyncio.run(llm.complete(_request()))
    assert "no Anthropic API key" in caught.value.reason
    assert server.exchanges == []


def test_a_refused_key_is_an_auth_error_and_not_retried(server: FakeAnthropicServer) -> None:
    llm = AnthropicLLM(api_key="sk-ant-wrong-key", base_url=server.base_url, retry=FAST)
    with pytest.raises(LLMAuthError) as caught:
        asyncio.run(llm.complete(_request()))
    assert "401" in caught.value.reason and "sk-ant-wrong-key" not in caught.value.reason
    assert len(server.exchanges) == 1


def test_a_tool_use_left_unanswered_is_refused_like_the_api_does(server: FakeAnthropicServer) -> None:
    llm = AnthropicLLM(api_key=server.api_key, base_url=server.base_url, retry=FAST)
    messages = [
        {"role": "user", "content": "Open the page."},
        {"role": "assistant", "content": [{"type": "tool_use", "id": "t1", "name": "click", "input": {}}]},
        {"role": "user", "content": [{"type": "text", "text": "Here is the page."}]},
    ]
    with pytest.raises(LLMRequestRejectedError) as caught:
        asyncio.run(llm.complete(_request(messages=messages)))
    assert "without `tool_result`" in caught.value.reason


def test_more_than_four_cache_breakpoints_are_refused(server: FakeAnthropicServer) -> None:
    llm = AnthropicLLM(api_key=server.api_key, base_url=server.base_url, retry=FAST)
    marked = {"type": "text", "text": "x", "cache_control": {"type": "ephemeral"}}
    with pytest.raises(LLMRequestRejectedError) as caught:
        asyncio.run(llm.complete(_request(system=[marked] * 5)))
    assert "maximum of 4" in caught.value.reason


def test_the_backoff_grows_and_honours_retry_after() -> None:
    policy = LLMRetryPolicy(base_delay_s=1.0, max_delay_s=10.0, jitter=0.0)
    assert [policy.delay(n) for n in (1, 2, 3, 6)] == [1.0, 2.0, 4.0, 10.0]
    assert policy.delay(3, retry_after_s=0.5) == 0.5


def test_an_image_whose_bytes_do_not_match_its_media_type_is_refused(server: FakeAnthropicServer) -> None:
    llm = AnthropicLLM(api_key=server.api_key, base_url=server.base_url, retry=FAST)
    png_as_jpeg = {
        "type": "image",
        "source": {"type": "base64", "media_type": "image/jpeg", "data": "iVBORw0KGgoAAAANSUhEUg=="},
    }
    with pytest.raises(LLMRequestRejectedError) as caught:
        asyncio.run(llm.complete(_request(messages=[{"role": "user", "content": [png_as_jpeg]}])))
    assert "does not match the provided media type" in caught.value.reason


def test_a_tool_whose_schema_is_not_an_object_is_refused(server: FakeAnthropicServer) -> None:
    llm = AnthropicLLM(api_key=server.api_key, base_url=server.base_url, retry=FAST)
    bad = [{"name": "click", "description": "x", "input_schema": {"type": "string"}}]
    with pytest.raises(LLMRequestRejectedError) as caught:
        asyncio.run(llm.complete(_request(tools=bad)))
    assert "input_schema.type" in caught.value.reason
