"""The real DOM tree behind a document, for selector paths.

A DOM snapshot is the *flat* tree: shadow content sits directly under its host and slotted
light-DOM children under their <slot>, with no shadow-root nodes. That is the right order for
reading a page but the wrong tree for CSS paths. Documents without shadow DOM use the snapshot
as it is (`FlatTree`); for the others CDP's pierced DOM (``DOM.getDocument(pierce=True)``) gives
the real tree with its shadow roots (`PiercedTree`).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Protocol

from altostratus.adapters.browser.perception.dom import DOCUMENT_NODE, ELEMENT_NODE, DocView

# What a tree root is: the document, or an open / closed shadow root.
DOCUMENT, OPEN, CLOSED = "document", "open", "closed"


class Tree(Protocol):
    """Nodes by key (a snapshot index or a backend node id)."""

    def parent(self, key: int) -> int: ...

    def root_kind(self, key: int) -> str | None:
        """DOCUMENT/OPEN/CLOSED when `key` is a tree root, else None."""
        ...

    def tag(self, key: int) -> str: ...

    def element_id(self, key: int) -> str: ...

    def element_children(self, key: int) -> list[int]: ...

    def id_count(self, root: int, element_id: str) -> int: ...


class FlatTree:
    """A document without shadow DOM: the snapshot's own tree, keyed by node index."""

    def __init__(self, doc: DocView, id_counts: dict[str, int]) -> None:
        self.doc = doc
        self._ids = id_counts

    def parent(self, key: int) -> int:
        return self.doc.parent[key]

    def root_kind(self, key: int) -> str | None:
        return DOCUMENT if self.doc.node_type[key] == DOCUMENT_NODE else None

    def tag(self, key: int) -> str:
        return self.doc.tag(key)

    def element_id(self, key: int) -> str:
        return self.doc.attrs(key).get("id", "")

    def element_children(self, key: int) -> list[int]:
        doc = self.doc
        return [
            k
            for k in doc.children(key)
            if doc.node_type[k] == ELEMENT_NODE and not doc.tag(k).startswith(":")
        ]

    def id_count(self, root: int, element_id: str) -> int:
        return self._ids.get(element_id, 0)


@dataclass
class _Node:
    parent: int
    kind: int
    tag: str
    element_id: str
    root_kind: str | None
    children: list[int] = field(default_factory=list)


class PiercedTree:
    """The real tree from ``DOM.getDocument(depth=-1, pierce=True)``, keyed by backend node id."""

    def __init__(self, root: dict[str, Any]) -> None:
        self._nodes: dict[int, _Node] = {}
        self._id_counts: dict[int, dict[str, int]] = {}
        stack: list[tuple[dict[str, Any], int, str | None]] = [(root, -1, DOCUMENT)]
        while stack:
            raw, parent, kind = stack.pop()
            key = int(raw["backendNodeId"])
            attrs = raw.get("attributes") or []
            element_id = next((attrs[i + 1] for i in range(0, len(attrs) - 1, 2) if attrs[i] == "id"), "")
            node = _Node(
                parent, int(raw.get("nodeType", 0)), str(raw.get("localName") or ""), element_id, kind
            )
            self._nodes[key] = node
            if parent in self._nodes and node.kind == ELEMENT_NODE:
                self._nodes[parent].children.append(key)
            for shadow in reversed(raw.get("shadowRoots") or []):
                mode = CLOSED if shadow.get("shadowRootType") == "closed" else OPEN
                if shadow.get("shadowRootType") == "user-agent":
                    continue
                stack.append((shadow, key, mode))
            for child in reversed(raw.get("children") or []):
                stack.append((child, key, None))
            if raw.get("contentDocument"):
                stack.append((raw["contentDocument"], -1, DOCUMENT))

    def __contains__(self, key: int) -> bool:
        return key in self._nodes

    def parent(self, key: int) -> int:
        return self._nodes[key].parent

    def root_kind(self, key: int) -> str | None:
        return self._nodes[key].root_kind

    def tag(self, key: int) -> str:
        return self._nodes[key].tag

    def element_id(self, key: int) -> str:
        return self._nodes[key].element_id

    def element_children(self, key: int) -> list[int]:
        return self._nodes[key].children

    def id_count(self, root: int, element_id: str) -> int:
        counts = self._id_counts.get(root)
        if counts is None:
            counts = {}
            stack = list(self._nodes[root].children) if root in self._nodes else []
            while stack:
                key = stack.pop()
                node = self._nodes[key]
                if node.element_id:
                    counts[node.element_id] = counts.get(node.element_id, 0) + 1
                stack.extend(node.children)
            self._id_counts[root] = counts
        return counts.get(element_id, 0)
