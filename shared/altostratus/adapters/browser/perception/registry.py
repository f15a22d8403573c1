"""Short element ids (``e12``) that stay the same while the DOM node lives.

An id is issued once per node, keyed by (CDP target, frame, the frame's loader id, backend
node id) — the loader id changes with every new document, so a node of a new page never
inherits an old id even when a new renderer process reuses backend ids. Ids are never reused in
a session, so an id from an old snapshot cannot silently point at a different element; nothing
is written into the page.
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass, field

from altostratus.adapters.browser.perception.model import Element, ElementRef

NodeKey = tuple[str, str, str, int]


@dataclass
class ElementRegistry:
    """Issues ids and remembers, per id, the element as last seen (to act on it or find it again)."""

    prefix: str = "e"
    _ids: dict[NodeKey, str] = field(default_factory=dict)
    _last: dict[str, Element] = field(default_factory=dict)
    _counter: itertools.count[int] = field(default_factory=lambda: itertools.count(1))

    def id_for(self, target: str, frame_id: str, loader_id: str, backend_node_id: int) -> str:
        key = (target, frame_id, loader_id, backend_node_id)
        found = self._ids.get(key)
        if found is None:
            found = f"{self.prefix}{next(self._counter)}"
            self._ids[key] = found
        return found

    def remember(self, elements: tuple[Element, ...] | list[Element]) -> None:
        for element in elements:
            self._last[element.id] = element

    def last_seen(self, element_id: str) -> Element | None:
        return self._last.get(element_id)

    def ref(self, element_id: str) -> ElementRef | None:
        element = self._last.get(element_id)
        return element.ref if element else None

    def forget_documents(self, live: set[tuple[str, str, str]]) -> None:
        """Drop ids of documents that are gone; `live` holds (target, frame id, loader id)."""
        dead = [key for key in self._ids if key[:3] not in live]
        for key in dead:
            element_id = self._ids.pop(key)
            self._last.pop(element_id, None)
