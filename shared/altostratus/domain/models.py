"""The LLM model catalog as pure data: which names a run may ask for, the defaults, and prices.

Names are the `anthropic.types.Model` literals of the SDK version this package pins (2.14.0),
copied here so the domain does not import the SDK. Prices are US dollars per million tokens
(input, cache write, cache read, output) from Anthropic's public price list; a model whose
price is not published is known (it may be requested) but its cost is reported as 0.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Price:
    """Dollars per million tokens."""

    input: float
    cache_write: float
    cache_read: float
    output: float

    def cost(
        self, *, input_tokens: int, cache_write_tokens: int, cache_read_tokens: int, output_tokens: int
    ) -> float:
        total = (
            input_tokens * self.input
            + cache_write_tokens * self.cache_write
            + cache_read_tokens * self.cache_read
            + output_tokens * self.output
        )
        return round(total / 1_000_000, 6)


# Cache writes cost 1.25x input (5-minute cache) and cache reads 0.1x input.
_OPUS_45 = Price(input=5.0, cache_write=6.25, cache_read=0.50, output=25.0)
_SONNET_4 = Price(input=3.0, cache_write=3.75, cache_read=0.30, output=15.0)
_HAIKU_45 = Price(input=1.0, cache_write=1.25, cache_read=0.10, output=5.0)

# name -> price (None: the name is valid but no price is published for it).
MODEL_PRICES: dict[str, Price | None] = {
    "claude-opus-4-8": _OPUS_45,
    "claude-opus-4-7": _OPUS_45,
    "claude-opus-4-6": _OPUS_45,
    "claude-opus-4-5": _OPUS_45,
    "claude-opus-4-5-20251101": _OPUS_45,
    "claude-sonnet-4-6": _SONNET_4,
    "claude-sonnet-4-5": _SONNET_4,
    "claude-sonnet-4-5-20250929": _SONNET_4,
    "claude-haiku-4-5": _HAIKU_45,
    "claude-haiku-4-5-20251001": _HAIKU_45,
    "claude-opus-5": None,
    "claude-opus-5-5": None,
    "claude-sonnet-5": None,
    "claude-sonnet-5-5": None,
    "claude-haiku-5-5": None,
    "claude-fable-5": None,
    "claude-fable-5-1": None,
    "claude-fable-5-2": None,
    "claude-mythos-5": None,
    "claude-mythos-5-1": None,
    "claude-mythos-5-2": None,
    "claude-mythos-preview": None,
}

KNOWN_MODELS: frozenset[str] = frozenset(MODEL_PRICES)

# The main loop's model, and the cheaper one for verification and sub-tasks (extraction repair,
# verdicts). Both must be in KNOWN_MODELS; a deployment may override them in its settings.
DEFAULT_MAIN_MODEL = "claude-sonnet-4-6"
DEFAULT_CHEAP_MODEL = "claude-haiku-4-5"


def is_known_model(name: str) -> bool:
    """Whether a run may ask for this model (`model.model_name`); unknown names are a 400."""
    return name.strip() in KNOWN_MODELS


def price_of(name: str) -> Price | None:
    return MODEL_PRICES.get(name.strip())


def cost_usd(
    name: str, *, input_tokens: int, cache_write_tokens: int, cache_read_tokens: int, output_tokens: int
) -> float:
    """Dollars for one call's usage; 0.0 when the model has no published price."""
    price = price_of(name)
    if price is None:
        return 0.0
    return price.cost(
        input_tokens=input_tokens,
        cache_write_tokens=cache_write_tokens,
        cache_read_tokens=cache_read_tokens,
        output_tokens=output_tokens,
    )
