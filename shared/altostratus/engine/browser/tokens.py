"""Token counts as OpenAI's cl100k_base counts them (the bpe-openai package ships it offline)."""

from __future__ import annotations

from functools import lru_cache
from typing import Any

import bpe_openai


@lru_cache(maxsize=1)
def _encoding() -> Any:
    return bpe_openai.get_encoding("cl100k_base")


def count_tokens(text: str) -> int:
    """cl100k_base tokens of `text` (special-token text counts as ordinary text)."""
    if not text:
        return 0
    return len(_encoding().encode_ordinary(text))
