"""The fakes check what the real APIs check: through the real `openai` SDK, a computer call left
unanswered and a screenshot of the wrong size are refused with 400."""

from __future__ import annotations

import base64
import struct
import zlib
from collections.abc import Iterator

import openai
import pytest

from altostratus.devtools import cua_script as cs
from altostratus.devtools.fake_openai.server import FakeOpenAIServer


def _png(width: int, height: int) -> bytes:
    raw = b"".join(b"\x00" + b"\xff" * (width * 3) for _ in range(height))

    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))

    header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", header)
        + chunk(b"IDAT", zlib.compress(raw))
        + chunk(b"IEND", b"")
    )


def _url(png: bytes) -> str:
    return "data:image/png;base64," + base64.b64encode(png).decode()


TOOL = {"type": "computer_use_preview", "display_width": 64, "display_height": 48, "environment": "browser"}


@pytest.fixture
def fake() -> Iterator[FakeOpenAIServer]:
    script = cs.Script([cs.Click("a"), cs.Done("ok")], cs.Layout({"a": (10, 10, 10, 10)}))
    with FakeOpenAIServer(script) as server:
        yield server


def _first(client: openai.OpenAI, png: bytes) -> object:
    return client.responses.create(
        model="computer-use-preview",
        tools=[TOOL],  # type: ignore[list-item]
        truncation="auto",
        input=[
            {
                "role": "user",
                "content": [
                    {"type": "input_text", "text": "go"},
                    {"type": "input_image", "image_url": _url(png), "detail": "auto"},
                ],
            }
        ],
    )


def test_a_screenshot_of_the_wrong_size_is_refused(fake: FakeOpenAIServer) -> None:
    client = openai.OpenAI(api_key=fake.api_key, base_url=fake.base_url, max_retries=0)
    with pytest.raises(openai.BadRequestError, match="64x48"):
        _first(client, _png(128, 96))


def test_a_computer_call_left_unanswered_is_refused(fake: FakeOpenAIServer) -> None:
    client = openai.OpenAI(api_key=fake.api_key, base_url=fake.base_url, max_retries=0)
    first = _first(client, _png(64, 48))
    with pytest.raises(openai.BadRequestError, match="No tool output found for computer call"):
        client.responses.create(
            model="computer-use-preview",
            tools=[TOOL],  # type: ignore[list-item]
            truncation="auto",
            previous_response_id=first.id,  # type: ignore[attr-defined]
            input=[{"role": "user", "content": [{"type": "input_text", "text": "hello"}]}],
        )


def test_the_preview_without_truncation_auto_is_refused(fake: FakeOpenAIServer) -> None:
    client = openai.OpenAI(api_key=fake.api_key, base_url=fake.base_url, max_retries=0)
    with pytest.raises(openai.BadRequestError, match="truncation"):
        client.responses.create(model="computer-use-preview", tools=[TOOL], input="go")  # type: ignore[list-item]
