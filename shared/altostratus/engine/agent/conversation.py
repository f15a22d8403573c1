"""The run's one conversation: message history, elision of superseded snapshots and images,
and prompt-cache breakpoints.

Elision rewrites older turns rarely and all at once (when superseded snapshots or images pile
up), so between such moments the history is append-only and its prefix stays byte-identical,
which is what prompt caching needs.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from pydantic import BaseModel, Field

from altostratus.engine.agent.prompts import ELIDED_IMAGE, ELIDED_OBSERVATION, OBSERVATION_PREFIX

EPHEMERAL = {"type": "ephemeral"}


def _is_observation(block: dict[str, Any]) -> bool:
    return block.get("type") == "text" and str(block.get("text", "")).startswith(OBSERVATION_PREFIX)


class Conversation(BaseModel):
    messages: list[dict[str, Any]] = Field(default_factory=list)

    def add_user(self, blocks: list[dict[str, Any]]) -> None:
        if self.messages and self.messages[-1]["role"] == "user":
            raise ValueError("two user turns in a row")
        self.messages.append({"role": "user", "content": blocks})

    def add_assistant(self, message: dict[str, Any]) -> None:
        if not self.messages or self.messages[-1]["role"] != "user":
            raise ValueError("an assistant turn must follow a user turn")
        if not message.get("content"):
            message = {"role": "assistant", "content": [{"type": "text", "text": "(no answer)"}]}
        self.messages.append(message)

    @property
    def awaiting_answer(self) -> bool:
        return bool(self.messages) and self.messages[-1]["role"] == "user"

    def elide_observations(self, *, min_chars: int = 0) -> int:
        """Replace every page snapshot but those of the newest user turn by a stub, once they
        add up to `min_chars` (0: always); returns how many were elided."""
        superseded = list(self._superseded())
        if not superseded or sum(len(b["text"]) for _, _, b in superseded) < min_chars:
            return 0
        for content, i, _block in superseded:
            content[i] = {"type": "text", "text": ELIDED_OBSERVATION}
        return len(superseded)

    def _superseded(self) -> Iterator[tuple[list[dict[str, Any]], int, dict[str, Any]]]:
        for message in self.messages[:-1]:
            if message["role"] != "user" or not isinstance(message["content"], list):
                continue
            for i, block in enumerate(message["content"]):
                if _is_observation(block) and block["text"] != ELIDED_OBSERVATION:
                    yield message["content"], i, block

    def limit_images(self, keep: int, *, over: int | None = None) -> int:
        """Keep the newest `keep` images (top-level or inside tool results) and stub the rest,
        once there are more than `over` (default: `keep`) of them; returns how many were stubbed."""
        slots: list[tuple[list[dict[str, Any]], int]] = []  # newest first
        for message in reversed(self.messages):
            if message["role"] != "user" or not isinstance(message["content"], list):
                continue
            for i in range(len(message["content"]) - 1, -1, -1):
                block = message["content"][i]
                if block.get("type") == "image":
                    slots.append((message["content"], i))
                elif block.get("type") == "tool_result" and isinstance(block.get("content"), list):
                    inner = block["content"]
                    slots += [
                        (inner, j) for j in range(len(inner) - 1, -1, -1) if inner[j].get("type") == "image"
                    ]
        if len(slots) <= (keep if over is None else over):
            return 0
        for holder, i in slots[keep:]:
            holder[i] = {"type": "text", "text": ELIDED_IMAGE}
        return max(0, len(slots) - keep)

    def for_request(self, *, caching: bool) -> list[dict[str, Any]]:
        """The messages to send: cache breakpoints on the newest two user turns, history untouched."""
        messages = list(self.messages)
        if not caching:
            return messages
        marked = 0
        for index in range(len(messages) - 1, -1, -1):
            if marked == 2:
                break
            message = messages[index]
            if message["role"] != "user" or not isinstance(message["content"], list):
                continue
            content = list(message["content"])
            content[-1] = {**content[-1], "cache_control": EPHEMERAL}
            messages[index] = {**message, "content": content}
            marked += 1
        return messages
