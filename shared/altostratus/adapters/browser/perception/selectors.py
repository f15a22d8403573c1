"""Selector bundles: several independent ways to find an element again (for generated scripts).

The CSS path is built inside the element's own tree (document or shadow root), anchored at the
nearest ancestor with a unique, stable-looking id; shadow hosts and iframes around it get their
own paths, so the bundle says exactly which boundaries a replay has to cross.
"""

from __future__ import annotations

import re
from typing import Any

from altostratus.adapters.browser.perception.model import Element, SelectorBundle, TestId
from altostratus.adapters.browser.perception.trees import CLOSED, Tree

TEST_ID_ATTRIBUTES = ("data-testid", "data-test-id", "data-test", "data-qa", "data-cy")
_PLAIN_ID = re.compile(r"^[A-Za-z][A-Za-z0-9_-]{0,63}$")
# Framework-generated ids (":r3:", "ember123", "react-select-5-input") change between loads.
_GENERATED_ID = re.compile(r"\d{3,}|^(ember|react|mui|radix|headlessui|:r)|[-_]\d+[-_]")


def stable_id(value: str) -> bool:
    return bool(_PLAIN_ID.match(value)) and not _GENERATED_ID.search(value)


class PathBuilder:
    """CSS paths for nodes of one tree, memoised (siblings are indexed once per parent)."""

    def __init__(self, tree: Tree) -> None:
        self.tree = tree
        self._segment: dict[int, str] = {}
        self._path: dict[int, tuple[str, int]] = {}
        self._positions: dict[int, tuple[int, int]] = {}

    def _root_of(self, key: int) -> int:
        tree = self.tree
        current = key
        while current >= 0 and tree.root_kind(current) is None:
            current = tree.parent(current)
        return current

    def _segment_of(self, key: int, root: int) -> tuple[str, bool]:
        """The node's own step and whether it is an id anchor (the path can start there)."""
        cached = self._segment.get(key)
        if cached is not None:
            return cached, cached.startswith("#")
        tree = self.tree
        element_id = tree.element_id(key)
        if element_id and stable_id(element_id) and tree.id_count(root, element_id) == 1:
            segment = f"#{element_id}"
        else:
            position, count = self._type_position(key)
            tag = tree.tag(key)
            segment = tag if count <= 1 else f"{tag}:nth-of-type({position})"
        self._segment[key] = segment
        return segment, segment.startswith("#")

    def _type_position(self, key: int) -> tuple[int, int]:
        """(1-based position among same-tag siblings, number of them)."""
        found = self._positions.get(key)
        if found is not None:
            return found
        tree = self.tree
        by_tag: dict[str, list[int]] = {}
        for kid in tree.element_children(tree.parent(key)):
            by_tag.setdefault(tree.tag(kid), []).append(kid)
        for same in by_tag.values():
            for position, kid in enumerate(same, start=1):
                self._positions[kid] = (position, len(same))
        return self._positions.get(key, (1, 1))

    def path(self, key: int) -> tuple[str, int]:
        """(CSS path inside the node's tree, key of that tree's root: document or shadow root)."""
        cached = self._path.get(key)
        if cached is not None:
            return cached
        tree = self.tree
        root = self._root_of(key)
        steps: list[str] = []
        current = key
        while current >= 0 and current != root:
            segment, anchored = self._segment_of(current, root)
            steps.append(segment)
            if anchored or tree.tag(current) == "body":
                break
            current = tree.parent(current)
        result = (" > ".join(reversed(steps)), root)
        self._path[key] = result
        return result

    def hosts(self, root: int) -> tuple[tuple[str, ...], bool]:
        """CSS paths of the shadow hosts around a tree root, outermost first; and whether one is closed."""
        tree = self.tree
        hosts: list[str] = []
        closed = False
        while root >= 0 and tree.root_kind(root) in ("open", CLOSED):
            closed = closed or tree.root_kind(root) == CLOSED
            host = tree.parent(root)
            if host < 0:
                break
            css, root = self.path(host)
            hosts.append(css)
        return tuple(reversed(hosts)), closed


def bundle_for(
    builder: PathBuilder | None,
    key: int,
    attrs: dict[str, str],
    *,
    role: str,
    name: str,
    label: str | None,
    text: str | None,
    frames: tuple[str, ...],
) -> SelectorBundle:
    css: str | None = None
    hosts: tuple[str, ...] = ()
    closed = False
    if builder is not None:
        css, root = builder.path(key)
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


def bundle_dict(element: Element) -> dict[str, Any]:
    """An element's bundle in the shape the domain records (`domain.replay.targets`)."""
    bundle = element.selectors
    found: dict[str, Any] = bundle.model_dump(mode="json")
    found["shadow_hosts"] = list(bundle.shadow_hosts)
    found["frames"] = list(bundle.frames)
    found["tag"] = element.tag or None
    found["input_type"] = element.input_type
    return found
