"""Scripted computer-use "models": intents on named targets, encoded per protocol by the fakes.

A scenario is a list of intents (`Click("email")`, `Type("alice")`, `Key("Enter")`,
`Done("Welcome")`). Targets are element boxes measured in real Chromium before the run
(`Layout`: target id -> box in viewport CSS pixels, pages mark targets with `data-cua`), so no
vision model is needed. Each fake encodes the intended point into its protocol's coordinates
(screenshot pixels, the declared display, 0-1000 or the smart-resized image) independently of
the engine's decoding: a mis-scaled click lands elsewhere and the scenario fails.

Screenshots are checked by size (the fakes compare the PNG header with what the model was
told); every request's first screenshot must be a PNG.
"""

from __future__ import annotations

import base64
import re
import struct
import zlib
from dataclasses import dataclass, field
from typing import Any

Box = tuple[float, float, float, float]  # x, y, width, height


@dataclass(frozen=True)
class Click:
    target: str
    button: str = "left"
    count: int = 1
    # The page state the next screenshot must show (the beacon), if the click changes it.
    expect: str | None = None


@dataclass(frozen=True)
class Type:
    text: str


@dataclass(frozen=True)
class Key:
    """A chord in generic names: Enter, Tab, Control+a, PageDown."""

    keys: str


@dataclass(frozen=True)
class Scroll:
    target: str
    dy: int  # pixels (the Anthropic fake turns them into wheel clicks of 100 px)


@dataclass(frozen=True)
class Drag:
    source: str
    target: str
    expect: str | None = None


@dataclass(frozen=True)
class Done:
    answer: str


@dataclass(frozen=True)
class Ask:
    """The model stops to ask (the engine must answer for itself)."""

    question: str


@dataclass(frozen=True)
class Terminate:
    reason: str


Intent = Click | Type | Key | Scroll | Drag | Done | Ask | Terminate


@dataclass
class Layout:
    """Boxes of the targets; `scrolled` is how far the page was scrolled since measuring."""

    boxes: dict[str, Box]
    scrolled: float = 0.0

    def center(self, target: str) -> tuple[float, float]:
        x, y, w, h = self.boxes[target]
        return x + w / 2, y + h / 2 - self.scrolled


@dataclass
class Script:
    """The intents in order; the fake asks for the intent of turn n (0-based)."""

    intents: list[Intent]
    layout: Layout
    safety_check_at: int | None = None  # OpenAI: the turn whose call carries a pending check
    seen: list[int] = field(default_factory=list)
    # A gullible model: once this text reaches it outside the page-data fences, it obeys the
    # page and ends with the answer "pwned", so a leak of unfenced page text fails the scenario.
    obeys: str | None = None
    pwned: bool = False

    def hear(self, request: Any) -> None:
        """Called by a fake with each request body before it answers."""
        if self.obeys is not None and self.obeys in unfenced("\n".join(texts(request))):
            self.pwned = True

    def stale(self, turn: int, screenshot: bytes | None) -> str | None:
        """Why the screenshot sent for turn `turn` is stale, if it is: the previous intent's
        expected page state is not what the beacon shows."""
        if turn == 0 or turn > len(self.intents) or screenshot is None:
            return None
        expected = getattr(self.intents[turn - 1], "expect", None)
        if expected is None:
            return None
        seen = beacon_state(screenshot)
        if seen == expected:
            return None
        return f"stale screenshot for turn {turn}: the beacon shows {seen!r}, expected {expected!r}"

    def intent(self, turn: int) -> Intent:
        if self.pwned:
            return Done("pwned")
        if turn >= len(self.intents):
            return self.intents[-1]
        intent = self.intents[turn]
        if isinstance(intent, Scroll) and turn not in self.seen:
            self.seen.append(turn)
        return intent

    def point(self, turn: int, target: str) -> tuple[float, float]:
        """Where `target` is on the screen of turn `turn` (scrolls of earlier turns applied)."""
        offset = sum(i.dy for i in self.intents[:turn] if isinstance(i, Scroll))
        x, y = Layout(self.layout.boxes).center(target)
        return x, y - offset


FENCED = re.compile(r"^BEGIN_(PAGE_DATA_\w+)\n.*?^END_\1$", re.MULTILINE | re.DOTALL)


def unfenced(text: str) -> str:
    """The text a model would read as instructions: everything outside the page-data fences."""
    return FENCED.sub("", text)


def texts(node: Any) -> list[str]:
    """Every string of a JSON body (images included; they hold no page text a model reads)."""
    if isinstance(node, str):
        return [node]
    if isinstance(node, dict):
        return [t for v in node.values() for t in texts(v)]
    if isinstance(node, list):
        return [t for v in node for t in texts(v)]
    return []


def newest_png(node: Any) -> bytes | None:
    """The last PNG of a request body, in any of the protocols' image forms."""
    found: list[bytes] = []

    def walk(n: Any) -> None:
        if isinstance(n, str) and n.startswith("data:image/png;base64,"):
            found.append(base64.b64decode(n.split(",", 1)[1]))
        elif isinstance(n, dict):
            if n.get("type") == "base64" and n.get("media_type") == "image/png":
                found.append(base64.b64decode(n["data"]))
            for v in n.values():
                walk(v)
        elif isinstance(n, list):
            for v in n:
                walk(v)

    walk(node)
    return found[-1] if found else None


# Generic key names to each protocol's.
OPENAI_KEYS = {"Enter": "ENTER", "Tab": "TAB", "Control": "CTRL", "PageDown": "PAGEDOWN", "Escape": "ESC"}
XDOTOOL_KEYS = {
    "Enter": "Return",
    "Tab": "Tab",
    "Control": "ctrl",
    "PageDown": "Page_Down",
    "Escape": "Escape",
}
UI_TARS_KEYS = {"Enter": "enter", "Tab": "tab", "Control": "ctrl", "PageDown": "pagedown", "Escape": "esc"}


def keys_for(chord: str, table: dict[str, str]) -> list[str]:
    return [table.get(k, k) for k in chord.split("+")]


# The beacon: a fixed 8x8 px square at the page's top-left corner whose colour names the page
# state (fixture pages recolour it when their state changes). The fakes read it off the
# screenshot, so a screenshot taken before the page settled fails the scenario.
BEACON_STATES = ("start", "signed-in", "menu-open", "plan-team", "news", "unlocked", "dropped", "submitted")
BEACON_PIXEL = 4


def beacon_colour(state: str) -> tuple[int, int, int]:
    return (8 + 30 * BEACON_STATES.index(state), 200, 100)


def beacon_state(png: bytes) -> str | None:
    pixel = png_pixel(png, BEACON_PIXEL, BEACON_PIXEL)
    if pixel is None:
        return None
    for state in BEACON_STATES:
        if all(abs(a - b) <= 2 for a, b in zip(pixel, beacon_colour(state), strict=True)):
            return state
    return None


def png_pixel(png: bytes, x: int, y: int) -> tuple[int, int, int] | None:
    """The RGB of one pixel near the top of an 8-bit RGB/RGBA PNG, decoding only rows 0..y."""
    size = png_size(png)
    if size is None or png[24] != 8 or png[25] not in (2, 6):
        return None
    width = size[0]
    bpp = 3 if png[25] == 2 else 4
    stride = 1 + width * bpp
    inflate = zlib.decompressobj()
    raw = b""
    at = 8
    while at + 8 <= len(png) and len(raw) < stride * (y + 1):
        length, kind = struct.unpack(">I4s", png[at : at + 8])
        if kind == b"IDAT":
            raw += inflate.decompress(png[at + 8 : at + 8 + length], stride * (y + 1) - len(raw))
        at += 12 + length
    if len(raw) < stride * (y + 1):
        return None
    previous = bytearray(width * bpp)
    for row in range(y + 1):
        line = raw[row * stride : (row + 1) * stride]
        kind, data = line[0], bytearray(line[1:])
        for i in range(len(data)):
            left = data[i - bpp] if i >= bpp else 0
            up = previous[i]
            corner = previous[i - bpp] if i >= bpp else 0
            if kind == 1:
                data[i] = (data[i] + left) & 0xFF
            elif kind == 2:
                data[i] = (data[i] + up) & 0xFF
            elif kind == 3:
                data[i] = (data[i] + (left + up) // 2) & 0xFF
            elif kind == 4:
                p = left + up - corner
                pa, pb, pc = abs(p - left), abs(p - up), abs(p - corner)
                predictor = left if pa <= pb and pa <= pc else (up if pb <= pc else corner)
                data[i] = (data[i] + predictor) & 0xFF
        previous = data
    start = x * bpp
    return previous[start], previous[start + 1], previous[start + 2]


def png_size(data: bytes) -> tuple[int, int] | None:
    if not data.startswith(b"\x89PNG\r\n\x1a\n") or data[12:16] != b"IHDR":
        return None
    width, height = struct.unpack(">II", data[16:24])
    return int(width), int(height)


def smart_resize(
    height: int,
    width: int,
    factor: int = 28,
    min_pixels: int = 100 * 28 * 28,
    max_pixels: int = 16384 * 28 * 28,
) -> tuple[int, int]:
    """Qwen2.5-VL's resize (UI-TARS-1.5's coordinate space), written from the model's spec."""
    import math

    h_bar = max(factor, round(height / factor) * factor)
    w_bar = max(factor, round(width / factor) * factor)
    if h_bar * w_bar > max_pixels:
        beta = math.sqrt((height * width) / max_pixels)
        h_bar = math.floor(height / beta / factor) * factor
        w_bar = math.floor(width / beta / factor) * factor
    elif h_bar * w_bar < min_pixels:
        beta = math.sqrt(min_pixels / (height * width))
        h_bar = math.ceil(height * beta / factor) * factor
        w_bar = math.ceil(width * beta / factor) * factor
    return h_bar, w_bar
