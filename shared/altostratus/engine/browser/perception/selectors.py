"""Selector bundles: several independent ways to find an element again (for generated scripts).

The CSS path is built inside the element's own tree (document or shadow root), anchored at the
nearest ancestor with a unique, stable-looking id; shadow hosts and iframes around it get their
own paths, so the bundle says exactly which boundaries a replay has to cross.
"""

from __future__ import annotations

import re

from altostratus.engine.browser.perception.dom import DOCUMENT_NODE, ELEMENT_NODE, FRAGMENT_NODE, DocView
from altostratus.engine.browser.perception.model import SelectorBundle, TestId

TEST_ID_ATTRIBUTES = ("data-testid", "data-test-id", "data-test", "data-qa", "data-cy")
_PLAIN_ID = re.compile(r"^[A-Za-z][A-Za-z0-9_-]{0,63}$")
# Framework-generated ids (":r3:", "ember123", "react-select-5-input") change between loads.
_GENERATED_ID = re.compile(r"\d{3,}|^(ember|react|mui|radix|headlessui|:r)|[-_]\d+[-_]")


def stable_id(value: str) -> bool:
    return bool(_PLAIN_ID.match(value)) and not _GENERATED_ID.search(value)


class PathBuilder:
    """CSS paths for nodes of one document, memoised (siblings are indexed once)."""

    def __init__(self, doc: DocView, id_counts: dict[str, int]) -> None:
        self.doc = doc
        self._id_counts = id_counts
        self._segment: dict[int, str] = {}
        self._path: dict[int, tuple[str, int]] = {}
        self._positions: dict[int, tuple[int, int]] = {}

    def _segment_of(self, node: int) -> tuple[str, bool]:
        """The node's own step and whether it is an id anchor (the path can start there)."""
        cached = self._segment.get(node)
        if cached is not None:
            return cached, cached.startswith("#")
        doc = self.doc
        attrs = doc.attrs(node)
        element_id = attrs.get("id", "")
        if element_id and self._id_counts.get(element_id) == 1 and stable_id(element_id):
            segment = f"#{element_id}"
        else:
            position, count = self._type_position(node)
            tag = doc.tag(node)
            segment = tag if count <= 1 else f"{tag}:nth-of-type({position})"
        self._segment[node] = segment
        return segment, segment.startswith("#")

    def _type_position(self, node: int) -> tuple[int, int]:
        """(1-based position among same-tag siblings, number of them); siblings indexed together."""
        found = self._positions.get(node)
        if found is not None:
            return found
        doc = self.doc
        by_tag: dict[str, list[int]] = {}
        for kid in doc.children(doc.parent[node]):
            if doc.node_type[kid] == ELEMENT_NODE:
                by_tag.setdefault(doc.tag(kid), []).append(kid)
        for same in by_tag.values():
            for position, kid in enumerate(same, start=1):
                self._positions[kid] = (position, len(same))
        return self._positions.get(node, (1, 1))

    def path(self, node: int) -> tuple[str, int]:
        """(CSS path inside the node's tree, index of that tree's root: document or shadow root)."""
        cached = self._path.get(node)
        if cached is not None:
            return cached
        doc = self.doc
        steps: list[str] = []
        current = node
        root = -1
        while current >= 0:
            kind = doc.node_type[current]
            if kind in (DOCUMENT_NODE, FRAGMENT_NODE):
                root = current
                break
            if kind == ELEMENT_NODE:
                segment, anchored = self._segment_of(current)
                steps.append(segment)
                if anchored or doc.tag(current) == "body":
                    # Keep climbing to find the root, but the path is complete.
                    root = self._root_of(current)
                    break
            current = doc.parent[current]
        result = (" > ".join(reversed(steps)), root)
        self._path[node] = result
        return result

    def _root_of(self, node: int) -> int:
        doc = self.doc
        current = node
        while current >= 0 and doc.node_type[current] not in (DOCUMENT_NODE, FRAGMENT_NODE):
            current = doc.parent[current]
        return current

    def hosts(self, root: int) -> tuple[tuple[str, ...], bool]:
        """CSS paths of the shadow hosts around a tree root, outermost first; and whether one is closed."""
        doc = self.doc
        hosts: list[str] = []
        closed = False
        while root >= 0 and doc.node_type[root] == FRAGMENT_NODE:
            if doc.shadow_root_type.get(root) == "closed":
                closed = True
            host = doc.parent[root]
            if host < 0:
                break
            css, root = self.path(host)
            hosts.append(css)
        return tuple(reversed(hosts)), closed


def bundle_for(
    builder: PathBuilder,
    node: int,
    attrs: dict[str, str],
    *,
    role: str,
    name: str,
    label: str | None,
    text: str | None,
    frames: tuple[str, ...],
) -> SelectorBundle:
    css, root = builder.path(node)
    hosts, closed = builder.hosts(root)
    test_id = next((TestId(attribute=a, value=attrs[a]) for a in TEST_ID_ATTRIBUTES if attrs.get(a)), None)
    return SelectorBundle(
        role=role if role != "clickable" else None,
        name=name or None,
        label=label or None,
        element_id=attrs.get("id") or None,
        name_attr=attrs.get("name") or None,
        test_id=test_id,
        placeholder=attrs.get("placeholder") or None,
        text=text or None,
        css=css or None,
        shadow_hosts=hosts,
        frames=frames,
        closed_shadow=closed,
    )
