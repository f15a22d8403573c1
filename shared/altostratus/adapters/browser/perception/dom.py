"""Read access to one document of a CDP `DOMSnapshot.captureSnapshot` result.

The snapshot is a set of parallel arrays indexed by node, with strings interned in one table
and sparse ("rare") properties given as index/value lists. `DocView` decodes what perception
needs once, into plain lists and dicts, so the builder's single pass stays cheap.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

# Computed styles requested for every laid-out node, in this order.
STYLE_NAMES: tuple[str, ...] = ("visibility", "opacity", "cursor", "pointer-events", "position")
VISIBILITY, OPACITY, CURSOR, POINTER_EVENTS, POSITION = range(len(STYLE_NAMES))

ELEMENT_NODE = 1
TEXT_NODE = 3
DOCUMENT_NODE = 9
FRAGMENT_NODE = 11


def _rare_strings(data: dict[str, Any] | None, strings: list[str]) -> dict[int, str]:
    if not data:
        return {}
    return {i: strings[v] if v >= 0 else "" for i, v in zip(data["index"], data["value"], strict=False)}


def _rare_ints(data: dict[str, Any] | None) -> dict[int, int]:
    if not data:
        return {}
    return dict(zip(data["index"], data["value"], strict=False))


def _rare_bools(data: dict[str, Any] | None) -> frozenset[int]:
    return frozenset(data["index"]) if data else frozenset()


@dataclass
class DocView:
    """One document (a frame's DOM, shadow roots included) of a DOM snapshot."""

    strings: list[str]
    frame_id: str
    url: str
    title: str
    scroll_x: float
    scroll_y: float
    content_width: float
    content_height: float
    parent: list[int]
    node_type: list[int]
    node_name: list[int]
    node_value: list[int]
    backend_id: list[int]
    attr_lists: list[list[int]]
    input_value: dict[int, str]
    text_value: dict[int, str]
    input_checked: frozenset[int]
    option_selected: frozenset[int]
    content_document: dict[int, int]
    shadow_root_type: dict[int, str]
    pseudo_type: dict[int, str]
    clickable: frozenset[int]
    layout_of: dict[int, int]
    bounds: list[list[float]]
    styles: list[list[int]]
    paint_order: list[int]
    _children: list[list[int]] | None = field(default=None, repr=False)
    _tags: dict[int, str] = field(default_factory=dict, repr=False)
    _ids: dict[str, int] | None = field(default=None, repr=False)

    @classmethod
    def decode(cls, raw: dict[str, Any], strings: list[str]) -> DocView:
        nodes = raw["nodes"]
        layout = raw["layout"]
        node_index: list[int] = layout["nodeIndex"]
        return cls(
            strings=strings,
            frame_id=strings[raw["frameId"]] if raw.get("frameId", -1) >= 0 else "",
            url=strings[raw["documentURL"]] if raw.get("documentURL", -1) >= 0 else "",
            title=strings[raw["title"]] if raw.get("title", -1) >= 0 else "",
            scroll_x=float(raw.get("scrollOffsetX") or 0.0),
            scroll_y=float(raw.get("scrollOffsetY") or 0.0),
            content_width=float(raw.get("contentWidth") or 0.0),
            content_height=float(raw.get("contentHeight") or 0.0),
            parent=nodes["parentIndex"],
            node_type=nodes["nodeType"],
            node_name=nodes["nodeName"],
            node_value=nodes["nodeValue"],
            backend_id=nodes["backendNodeId"],
            attr_lists=nodes.get("attributes") or [[] for _ in nodes["parentIndex"]],
            input_value=_rare_strings(nodes.get("inputValue"), strings),
            text_value=_rare_strings(nodes.get("textValue"), strings),
            input_checked=_rare_bools(nodes.get("inputChecked")),
            option_selected=_rare_bools(nodes.get("optionSelected")),
            content_document=_rare_ints(nodes.get("contentDocumentIndex")),
            shadow_root_type=_rare_strings(nodes.get("shadowRootType"), strings),
            pseudo_type=_rare_strings(nodes.get("pseudoType"), strings),
            clickable=_rare_bools(nodes.get("isClickable")),
            layout_of={n: i for i, n in enumerate(node_index)},
            bounds=layout["bounds"],
            styles=layout["styles"],
            paint_order=layout.get("paintOrders") or [0] * len(node_index),
        )

    def __len__(self) -> int:
        return len(self.parent)

    def tag(self, i: int) -> str:
        """Lower-case tag name of an element node (``div``, ``svg``, ``my-widget``)."""
        index = self.node_name[i]
        found = self._tags.get(index)
        if found is None:
            found = self._tags[index] = self.strings[index].lower()
        return found

    def value(self, i: int) -> str:
        v = self.node_value[i]
        return self.strings[v] if v >= 0 else ""

    def attrs(self, i: int) -> dict[str, str]:
        # HTML attribute names arrive lower-cased by the parser; SVG's camelCase ones are not
        # looked up by perception, so they are left as they are.
        raw = self.attr_lists[i]
        s = self.strings
        return {s[raw[k]]: s[raw[k + 1]] for k in range(0, len(raw) - 1, 2)}

    def style(self, layout_index: int, which: int) -> str:
        ids = self.styles[layout_index]
        return self.strings[ids[which]] if which < len(ids) and ids[which] >= 0 else ""

    def children(self, i: int) -> list[int]:
        if self._children is None:
            kids: list[list[int]] = [[] for _ in self.parent]
            for node, parent in enumerate(self.parent):
                if parent >= 0:
                    kids[parent].append(node)
            self._children = kids
        return self._children[i]

    def node_with_id(self, element_id: str) -> int | None:
        """The element carrying this id attribute (the first, like getElementById)."""
        if self._ids is None:
            ids: dict[str, int] = {}
            s = self.strings
            for node, raw in enumerate(self.attr_lists):
                for k in range(0, len(raw) - 1, 2):
                    if s[raw[k]] == "id":
                        ids.setdefault(s[raw[k + 1]], node)
                        break
            self._ids = ids
        return self._ids.get(element_id)

    def text_content(self, i: int, limit: int = 300) -> str:
        """Concatenated text of a subtree, laid out or not (used for <option> and <title>)."""
        parts: list[str] = []
        size = 0
        stack = [i]
        while stack and size < limit:
            node = stack.pop()
            if self.node_type[node] == TEXT_NODE:
                text = self.value(node)
                parts.append(text)
                size += len(text)
                continue
            stack.extend(reversed(self.children(node)))
        return " ".join(" ".join(parts).split())[:limit]
