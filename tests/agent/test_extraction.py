"""Extraction: the user's schema is the tool's input schema; one repair round; then a clear failure."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest

from altostratus.engine.agent.extraction import ExtractionFailedError, extract
from tests.agent.harness import Harness
from tests.fakes.anthropic_server import MessagesRequest, Reply
from tests.fakes.policies import EXTRACTION_TOOL, extraction_reply

SCHEMA = {
    "type": "object",
    "properties": {"name": {"type": "string"}, "price": {"type": "number"}},
    "required": ["name", "price"],
    "additionalProperties": False,
}
PAGE = "# Widget\nPrice: 42.50 EUR"


def _extract(h: Harness, schema: Any) -> Any:
    return asyncio.run(
        extract(
            h.deps.llm,
            model="claude-sonnet-4-6",
            markdown=PAGE,
            url="http://shop.test/widget",
            instruction="The product",
            schema=schema,
            tag="PAGE_DATA_TEST",
            max_chars=10_000,
        )
    )


def test_the_schema_is_the_tool_input_schema_and_valid_data_is_returned(harness: Harness) -> None:
    seen: list[dict[str, Any]] = []

    def extractor(request: MessagesRequest) -> Reply:
        seen.append(request.tool_schema(EXTRACTION_TOOL))
        return extraction_reply(request, {"name": "Widget", "price": 42.5})

    harness.server.set_policy(extractor)
    result = _extract(harness, SCHEMA)
    assert result.data == {"name": "Widget", "price": 42.5}
    assert seen == [SCHEMA]


def test_one_repair_round_fixes_data_that_breaks_the_schema(harness: Harness) -> None:
    told: list[str] = []

    def extractor(request: MessagesRequest) -> Reply:
        if request.turn == 0:
            return extraction_reply(request, {"name": "Widget", "price": "42.50 EUR"})
        told.append(request.last_user_text())
        return extraction_reply(request, {"name": "Widget", "price": 42.5})

    harness.server.set_policy(extractor)
    assert _extract(harness, SCHEMA).data == {"name": "Widget", "price": 42.5}
    assert "price" in told[0] and "is not of type 'number'" in told[0]


def test_data_still_invalid_after_the_repair_fails_with_the_errors(harness: Harness) -> None:
    harness.server.set_policy(lambda request: extraction_reply(request, {"name": "Widget"}))
    with pytest.raises(ExtractionFailedError) as caught:
        _extract(harness, SCHEMA)
    assert "'price' is a required property" in caught.value.reason
    assert len(harness.server.successful()) == 2


def test_a_non_object_schema_is_wrapped_and_unwrapped(harness: Harness) -> None:
    harness.server.set_policy(lambda request: extraction_reply(request, ["a", "b"]))
    assert _extract(harness, {"type": "array", "items": {"type": "string"}}).data == ["a", "b"]
