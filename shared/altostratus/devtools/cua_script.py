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

import struct
from dataclasses import dataclass, field

Box = tuple[float, float, float, float]  # x, y, width, height


@dataclass(frozen=True)
class Click:
    target: str
    button: str = "left"
    count: int = 1


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

    def intent(self, turn: int) -> Intent:
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
