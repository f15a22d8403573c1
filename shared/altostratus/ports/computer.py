"""What the screenshot-driven (computer-use) engines need from a browser: actions at screen
coordinates in viewport CSS pixels, and the page's size, address and title.

Screenshots are taken at device scale 1, so a screenshot's pixel size equals the viewport
that the model is told about.
"""

from __future__ import annotations

from typing import Annotated, Literal, Protocol

from pydantic import BaseModel, ConfigDict, Field

from altostratus.domain.replay.targets import SelectorBundle
from altostratus.ports.browser import AgentBrowser, Effect

Button = Literal["left", "right", "middle"]
# Playwright's modifier names.
Modifier = Literal["Alt", "Control", "Meta", "Shift"]
MAX_WAIT_S = 30.0


class _Pixel(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Point(_Pixel):
    x: float = Field(ge=0)
    y: float = Field(ge=0)


class PixelClick(_Pixel):
    kind: Literal["click"] = "click"
    x: float = Field(ge=0)
    y: float = Field(ge=0)
    button: Button = "left"
    count: int = Field(default=1, ge=1, le=3)
    modifiers: tuple[Modifier, ...] = ()


class PixelMove(_Pixel):
    kind: Literal["move"] = "move"
    x: float = Field(ge=0)
    y: float = Field(ge=0)
    modifiers: tuple[Modifier, ...] = ()


class PixelDrag(_Pixel):
    kind: Literal["drag"] = "drag"
    path: tuple[Point, ...] = Field(min_length=2)
    modifiers: tuple[Modifier, ...] = ()


class PixelScroll(_Pixel):
    kind: Literal["scroll"] = "scroll"
    x: float = Field(ge=0)
    y: float = Field(ge=0)
    dx: float = 0.0
    dy: float = 0.0
    modifiers: tuple[Modifier, ...] = ()


class PixelType(_Pixel):
    kind: Literal["type"] = "type"
    text: str = Field(max_length=20_000)
    # The text holds a secret: the field is masked afterwards (the next screenshot must not show it).
    mask: bool = False


class PixelKeys(_Pixel):
    """A chord in Playwright's names, e.g. ("Control", "a") or ("Enter",)."""

    kind: Literal["keys"] = "keys"
    keys: tuple[str, ...] = Field(min_length=1, max_length=6)
    repeat: int = Field(default=1, ge=1, le=50)
    hold_s: float = Field(default=0.0, ge=0, le=MAX_WAIT_S)


class PixelMouseButton(_Pixel):
    kind: Literal["mouse_button"] = "mouse_button"
    direction: Literal["down", "up"]
    button: Button = "left"


class PixelWait(_Pixel):
    kind: Literal["wait"] = "wait"
    seconds: float = Field(default=1.0, ge=0, le=MAX_WAIT_S)


PixelAction = Annotated[
    PixelClick | PixelMove | PixelDrag | PixelScroll | PixelType | PixelKeys | PixelMouseButton | PixelWait,
    Field(discriminator="kind"),
]


class PixelEffect(BaseModel):
    """What a pixel action did, and the element its point landed on (from a hit test)."""

    model_config = ConfigDict(frozen=True)

    effect: Effect
    hit: str | None = None
    # The element the point landed on (or, for typing, the focused one), to find it again.
    target: SelectorBundle | None = None


class ComputerBrowser(AgentBrowser, Protocol):
    """The agent's browser plus actions at coordinates."""

    def viewport(self) -> tuple[int, int]:
        """Width and height in CSS pixels; screenshots have exactly this size."""
        ...

    async def pixels(self, action: PixelAction) -> PixelEffect:
        """Run one pixel action (secrets already resolved)."""
        ...

    async def location(self) -> tuple[str, str]:
        """The current page's URL and title."""
        ...
