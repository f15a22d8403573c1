"""The model catalog: the names a run may ask for, and what their tokens cost."""

from __future__ import annotations

from altostratus.domain.models import DEFAULT_CHEAP_MODEL, DEFAULT_MAIN_MODEL, cost_usd, is_known_model


def test_the_catalog_knows_the_sdk_models_and_prices_them() -> None:
    assert is_known_model(DEFAULT_MAIN_MODEL) and is_known_model(DEFAULT_CHEAP_MODEL)
    assert not is_known_model("gpt-4o")
    one_million_each = cost_usd(
        "claude-haiku-4-5",
        input_tokens=1_000_000,
        cache_write_tokens=1_000_000,
        cache_read_tokens=1_000_000,
        output_tokens=1_000_000,
    )
    assert one_million_each == 1.0 + 1.25 + 0.10 + 5.0
