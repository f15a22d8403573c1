"""Page perception: CDP capture, element ids, the line format, diffs and selector bundles."""

from altostratus.adapters.browser.perception.model import (
    BBox,
    Element,
    ElementRef,
    SelectorBundle,
    Snapshot,
    SnapshotDiff,
    TabInfo,
)
from altostratus.adapters.browser.perception.registry import ElementRegistry
from altostratus.adapters.browser.perception.snapshot import Perceiver

__all__ = [
    "BBox",
    "Element",
    "ElementRef",
    "ElementRegistry",
    "Perceiver",
    "SelectorBundle",
    "Snapshot",
    "SnapshotDiff",
    "TabInfo",
]
