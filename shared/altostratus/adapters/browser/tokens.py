"""Token counts as OpenAI's cl100k_base counts them (the bpe-openai package ships it offline)."""

from __future__ import annotations

from functools import lru_cache
from typing import Any

import bpe_openai


@lru_cache(maxsize=1)
def _encoding() -> Any:
    return bpe_openai.get_encoding("cl100k_base")


# The encoder refuses very long inputs; long texts are counted in line-aligned chunks (a token
# never spans a newline followed by text, so the sum is the same).
_CHUNK = 100_000


def count_tokens(text: str) -> int:
    """cl100k_base tokens of `text` (special-token text counts as ordinary text)."""
    if not text:
        return 0
    encoding = _encoding()
    if len(text) <= _CHUNK:
        return len(encoding.encode_ordinary(text))
    total = 0
    start = 0
    while start < len(text):
        end = min(len(text), start + _CHUNK)
        if end < len(text):
            cut = text.rfind("\n", start, end)
            end = cut + 1 if cut > start else end
        total += len(encoding.encode_ordinary(text[start:end]))
        start = end
    return total
