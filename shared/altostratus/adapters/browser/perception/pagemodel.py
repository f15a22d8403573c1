"""The page model the renderer reads: elements, headings and text in document order, overlays."""

from __future__ import annotations

from dataclasses import dataclass, field

from altostratus.adapters.browser.perception.model import Element

ELEMENT, HEADING, TEXT, FRAME_END = "element", "heading", "text", "frame_end"


@dataclass
class Item:
    """One thing the line format can show, in document order (frames nested in place)."""

    kind: str
    depth: int
    in_viewport: bool
    # Viewport y of the item's top: negative above the viewport, beyond its height below.
    y: float
    overlay: int = -1
    landmark: str = ""
    element: Element | None = None
    text: str = ""
    level: int = 0


@dataclass
class Overlay:
    """A dialog, popup or large fixed layer shown first; `covers` when it hides what is beneath."""

    kind: str
    label: str
    covers: bool
    # "modal", "covers the page", "covers part of the page", or nothing (a popup)
    note: str = ""


@dataclass
class PageModel:
    url: str
    title: str
    viewport_width: float
    viewport_height: float
    scroll_x: float
    scroll_y: float
    page_height: float
    document_id: str
    items: list[Item] = field(default_factory=list)
    overlays: list[Overlay] = field(default_factory=list)
    # (target, frame id, loader id) of every document seen, to expire ids of the others
    live_documents: set[tuple[str, str, str]] = field(default_factory=set)

    @property
    def elements(self) -> list[Element]:
        return [i.element for i in self.items if i.element is not None]
