"""What perception produces: elements with ids, selector bundles, snapshots and their diffs."""

from __future__ import annotations

from collections.abc import Callable
from functools import cache

from pydantic import BaseModel, ConfigDict, Field


class BBox(BaseModel):
    """A box in CSS pixels, relative to the top-left corner of the page's viewport."""

    model_config = ConfigDict(frozen=True)

    x: float
    y: float
    width: float
    height: float

    @property
    def center(self) -> tuple[float, float]:
        return (self.x + self.width / 2, self.y + self.height / 2)


class TestId(BaseModel):
    model_config = ConfigDict(frozen=True)

    attribute: str
    value: str


class SelectorBundle(BaseModel):
    """Ways to find an element again without its id, strongest first (for generated scripts).

    `css` is a path inside the element's own tree; `shadow_hosts` are the CSS paths of the
    shadow hosts around it (outermost first, each inside the previous host's shadow root) and
    `frames` those of the <iframe> elements around it (outermost first). Playwright's CSS engine
    pierces open shadow roots, so `playwright_selector()` joins hosts and the path with ``>>``;
    `closed_shadow` says a closed shadow root is in the way, which no selector can cross.
    """

    model_config = ConfigDict(frozen=True)

    role: str | None = None
    name: str | None = None
    label: str | None = None
    element_id: str | None = None
    name_attr: str | None = None
    test_id: TestId | None = None
    placeholder: str | None = None
    text: str | None = None
    css: str | None = None
    shadow_hosts: tuple[str, ...] = ()
    frames: tuple[str, ...] = ()
    closed_shadow: bool = False

    def playwright_selector(self) -> str | None:
        """One Playwright selector for the element inside its frame, or None across a closed root."""
        if self.closed_shadow or self.css is None:
            return None
        return " >> ".join([*self.shadow_hosts, self.css])


def memo(source: Callable[[], SelectorBundle]) -> Callable[[], SelectorBundle]:
    """A bundle source that builds its bundle once."""
    return cache(source)


class ElementRef(BaseModel):
    """Where an element lives, for acting on it: the CDP target, the frame and the node."""

    model_config = ConfigDict(frozen=True)

    target: str
    frame_id: str
    loader_id: str
    backend_node_id: int


class Element(BaseModel):
    """One operable element as the model sees it."""

    model_config = ConfigDict(frozen=True)

    id: str
    role: str
    name: str
    tag: str
    value: str | None = None
    states: tuple[str, ...] = ()
    input_type: str | None = None
    options: tuple[str, ...] = ()
    option_count: int = 0
    href: str | None = None
    bbox: BBox
    in_viewport: bool
    covered: bool = False
    frame: str = "main"
    ref: ElementRef = Field(exclude=True)
    # Bundles are built on first use: most elements of most snapshots never need one, and
    # building CSS paths for all of them was a third of a snapshot's time.
    bundle_source: Callable[[], SelectorBundle] | None = Field(default=None, exclude=True, repr=False)

    @property
    def selectors(self) -> SelectorBundle:
        """Ways to find this element again (see `SelectorBundle`), built on first use."""
        return self.bundle_source() if self.bundle_source is not None else SelectorBundle()

    def public(self) -> dict[str, object]:
        """The element as `alto snapshot --json` shows it."""
        return {
            "id": self.id,
            "role": self.role,
            "name": self.name,
            "tag": self.tag,
            "bbox": self.bbox.model_dump(),
            "in_viewport": self.in_viewport,
            "frame": self.frame,
            "selectors": self.selectors.model_dump(exclude_defaults=True),
        }


class SnapshotDiff(BaseModel):
    """What changed since the previous snapshot of the same document."""

    model_config = ConfigDict(frozen=True)

    added: tuple[str, ...] = ()
    removed: tuple[str, ...] = ()
    changed: tuple[str, ...] = ()
    text_changed: bool = False
    scrolled: bool = False
    # Share of the page's elements added, removed or changed (0..1).
    ratio: float = 0.0
    text: str = ""

    @property
    def is_empty(self) -> bool:
        return not (self.added or self.removed or self.changed or self.text_changed or self.scrolled)


class TabInfo(BaseModel):
    model_config = ConfigDict(frozen=True)

    id: str
    url: str
    title: str
    active: bool = False


class Snapshot(BaseModel):
    """The page as the model is shown it, with the elements behind the text.

    `text` is the line format: one line per element (``e12 button "Save" disabled``), headings,
    short visible text, and, unless `full`, only the viewport in detail with the rest of the
    page as an outline. `diff` compares with the previous snapshot of the same document (None
    after a navigation or for the first one).
    """

    model_config = ConfigDict(frozen=True)

    url: str
    title: str
    text: str
    full: bool
    elements: tuple[Element, ...]
    tokens: int
    ms: float
    viewport_width: float
    viewport_height: float
    scroll_x: float
    scroll_y: float
    page_height: float
    document_id: str
    fingerprint: str
    tabs: tuple[TabInfo, ...] = ()
    diff: SnapshotDiff | None = None
    # element id -> its line in the whole-page rendering (what diffs compare)
    lines: dict[str, str] = Field(default_factory=dict, exclude=True, repr=False)
    text_digest: str = Field(default="", exclude=True, repr=False)

    def element(self, element_id: str) -> Element | None:
        for element in self.elements:
            if element.id == element_id:
                return element
        return None

    def public(self) -> dict[str, object]:
        """`alto snapshot --json`: text, elements, tokens and milliseconds."""
        return {
            "text": self.text,
            "elements": [e.public() for e in self.elements],
            "tokens": self.tokens,
            "ms": round(self.ms, 1),
        }
