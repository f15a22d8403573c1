"""The conversation keeps one full snapshot and few images, and marks two cache breakpoints."""

from __future__ import annotations

from altostratus.engine.agent.conversation import Conversation
from altostratus.engine.agent.prompts import ELIDED_IMAGE, ELIDED_OBSERVATION

IMAGE = {"type": "image", "source": {"type": "base64", "media_type": "image/png", "data": "AAAA"}}


def _turns(conversation: Conversation, count: int) -> None:
    for n in range(count):
        conversation.add_user(
            [{"type": "text", "text": f'<page_state step="{n}">page {n}</page_state>'}, IMAGE]
        )
        conversation.add_assistant({"role": "assistant", "content": [{"type": "text", "text": f"ok {n}"}]})


def test_a_new_full_snapshot_elides_the_older_ones_and_old_images() -> None:
    conversation = Conversation()
    _turns(conversation, 2)
    conversation.add_user([{"type": "text", "text": '<page_state step="2">page 2</page_state>'}, IMAGE])
    conversation.elide_observations()
    conversation.limit_images(1)
    texts = [m["content"][0]["text"] for m in conversation.messages if m["role"] == "user"]
    assert texts[:2] == [ELIDED_OBSERVATION, ELIDED_OBSERVATION]
    assert "page 2" in texts[2]
    images = [
        b for m in conversation.messages if m["role"] == "user" for b in m["content"] if b["type"] == "image"
    ]
    assert len(images) == 1 and conversation.messages[-1]["content"][1] == IMAGE
    assert conversation.messages[0]["content"][1] == {"type": "text", "text": ELIDED_IMAGE}


def test_cache_breakpoints_go_on_the_newest_two_user_turns_without_touching_history() -> None:
    conversation = Conversation()
    _turns(conversation, 3)
    conversation.add_user([{"type": "text", "text": "latest"}])
    sent = conversation.for_request(caching=True)
    marked = [i for i, m in enumerate(sent) for b in m["content"] if "cache_control" in b]
    assert marked == [4, 6]
    assert not any("cache_control" in b for m in conversation.messages for b in m["content"])
