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


def _beacon_png(width: int, height: int, rgb: tuple[int, int, int]) -> bytes:
    """A PNG whose every row uses a different filter, so the beacon decoder undoes each."""
    rows = []
    for y in range(height):
        pixels = bytes(rgb) * width
        kind = y % 5
        if kind == 1:  # sub: each byte minus the byte one pixel to the left
            pixels = bytes((pixels[i] - (pixels[i - 3] if i >= 3 else 0)) & 0xFF for i in range(len(pixels)))
        elif kind == 2 and y > 0:  # up: the row above is the same colour
            pixels = bytes(len(pixels))
        elif kind != 0:
            kind = 0
        rows.append(bytes([kind]) + pixels)

    def chunk(tag: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + tag + data + struct.pack(">I", zlib.crc32(tag + data))

    header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", header)
        + chunk(b"IDAT", zlib.compress(b"".join(rows)))
        + chunk(b"IEND", b"")
    )


def test_the_beacon_is_read_off_a_screenshot_whatever_the_row_filters() -> None:
    png = _beacon_png(64, 48, cs.beacon_colour("signed-in"))
    assert cs.beacon_state(png) == "signed-in"
    assert cs.beacon_state(_beacon_png(64, 48, (1, 2, 3))) is None


def test_a_stale_screenshot_after_a_state_changing_click_is_refused() -> None:
    # GIVEN a script whose first click must leave the page signed in
    script = cs.Script([cs.Click("a", expect="signed-in"), cs.Done("ok")], cs.Layout({"a": (10, 10, 10, 10)}))
    with FakeOpenAIServer(script) as server:
        client = openai.OpenAI(base_url=server.base_url, api_key=server.api_key, max_retries=0)
        first = _first(client, _png(64, 48))
        call = next(i for i in first.output if i.type == "computer_call")  # type: ignore[attr-defined]

        def answer(png: bytes) -> object:
            return client.responses.create(
                model="computer-use-preview",
                tools=[TOOL],  # type: ignore[list-item]
                truncation="auto",
                previous_response_id=first.id,  # type: ignore[attr-defined]
                input=[
                    {
                        "type": "computer_call_output",
                        "call_id": call.call_id,
                        "output": {"type": "computer_screenshot", "image_url": _url(png)},
                    }
                ],
            )

        # WHEN the screenshot after the click still shows the page before it
        with pytest.raises(openai.BadRequestError) as refused:
            answer(_beacon_png(64, 48, cs.beacon_colour("start")))
        # THEN the fake refuses it, and accepts the fresh one
        assert "stale screenshot" in str(refused.value)
        assert answer(_beacon_png(64, 48, cs.beacon_colour("signed-in")))
