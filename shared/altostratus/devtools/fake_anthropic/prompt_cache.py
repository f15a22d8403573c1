"""Usage as the fake server reports it: token estimates and a simulated prompt cache.

Tokens are estimated at about 4 characters each for JSON text and by pixel count for images
(the API's width*height/750). The request is read in cache order (tools, system, then message
blocks), hashed cumulatively; `cache_control` breakpoints write their prefix into the cache when
it is at least `min_cacheable_tokens` long, and a later request whose prefix matches a written
one (looking back up to 20 blocks from each breakpoint, like the API) reads those tokens.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import json
import math
import struct
import threading
from dataclasses import dataclass, field
from typing import Any

from altostratus.devtools.fake_anthropic.messages_rules import content_blocks

CACHE_LOOKBACK_BLOCKS = 20


def _canonical(block: Any) -> str:
    if isinstance(block, dict):
        block = {k: v for k, v in block.items() if k != "cache_control"}
    return json.dumps(block, sort_keys=True, separators=(",", ":"))


def _image_tokens(block: dict[str, Any]) -> int:
    source = block.get("source", {})
    try:
        data = base64.b64decode(source.get("data", ""))
    except (binascii.Error, ValueError):
        return 1600
    if data.startswith(b"\x89PNG") and len(data) >= 24:
        width, height = struct.unpack(">II", data[16:24])
        return max(1, min(1600, math.ceil(int(width) * int(height) / 750)))
    return 1600


def estimate_tokens(block: Any) -> int:
    """About 4 characters a token for JSON text; images by pixel count (the API's w*h/750)."""
    if isinstance(block, dict) and block.get("type") == "image":
        return _image_tokens(block)
    if (
        isinstance(block, dict)
        and block.get("type") == "tool_result"
        and isinstance(block.get("content"), list)
    ):
        rest = {k: v for k, v in block.items() if k != "content"}
        return estimate_tokens(rest) + sum(estimate_tokens(b) for b in block["content"])
    return max(1, math.ceil(len(_canonical(block)) / 4))


@dataclass
class _Unit:
    digest: str
    cumulative_tokens: int
    breakpoint: bool


def _prefix_units(body: dict[str, Any]) -> list[_Unit]:
    """The request in cache order (tools, system, then message blocks), hashed cumulatively."""
    raw: list[tuple[Any, bool]] = []
    for tool in body.get("tools", []):
        raw.append((tool, "cache_control" in tool))
    system = body.get("system")
    for block in [{"type": "text", "text": system}] if isinstance(system, str) else system or []:
        raw.append((block, "cache_control" in block))
    for message in body["messages"]:
        raw.append(({"role": message["role"]}, False))
        for block in content_blocks(message["content"]):
            raw.append((block, "cache_control" in block))
    units: list[_Unit] = []
    digest = hashlib.sha256(body["model"].encode())
    total = 0
    for block, marked in raw:
        digest = digest.copy()
        digest.update(_canonical(block).encode())
        total += estimate_tokens(block)
        units.append(_Unit(digest.hexdigest(), total, marked))
    return units


@dataclass
class PromptCache:
    """Written prefixes by digest; thread-safe."""

    min_cacheable_tokens: int = 1024
    _written: set[str] = field(default_factory=set)
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def account(self, body: dict[str, Any]) -> tuple[int, int, int]:
        """(uncached input, cache read, cache write) tokens for this request; writes its breakpoints."""
        units = _prefix_units(body)
        total = units[-1].cumulative_tokens if units else 0
        marks = [i for i, u in enumerate(units) if u.breakpoint]
        with self._lock:
            hit = -1
            for mark in marks:
                for i in range(mark, max(-1, mark - CACHE_LOOKBACK_BLOCKS), -1):
                    if units[i].digest in self._written:
                        hit = max(hit, i)
                        break
            read = units[hit].cumulative_tokens if hit >= 0 else 0
            write = 0
            for mark in marks:
                if units[mark].cumulative_tokens >= self.min_cacheable_tokens and mark > hit:
                    self._written.add(units[mark].digest)
                    write = units[mark].cumulative_tokens - read
        return total - read - write, read, write
