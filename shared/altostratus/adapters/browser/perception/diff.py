"""Diffs between two snapshots of the same document: which element lines came, went or changed."""

from __future__ import annotations

from altostratus.adapters.browser.perception.model import Snapshot, SnapshotDiff

_SHOWN = 40


def diff_snapshots(
    previous: Snapshot,
    *,
    lines: dict[str, str],
    text_digest: str,
    scroll: tuple[float, float],
) -> SnapshotDiff:
    """Compare the new element lines (id -> line) and text digest with `previous`.

    The text lists changed lines with ``~``, new ones with ``+`` and gone ones with ``-`` (by
    id only, to stay short), in page order.
    """
    old = previous.lines
    added = [i for i in lines if i not in old]
    removed = [i for i in old if i not in lines]
    changed = [i for i in lines if i in old and old[i] != lines[i]]
    text_changed = text_digest != previous.text_digest
    scrolled = abs(scroll[0] - previous.scroll_x) >= 1 or abs(scroll[1] - previous.scroll_y) >= 1
    total = max(len(lines), len(old), 1)
    ratio = (len(added) + len(removed) + len(changed)) / total
    out: list[str] = []
    for element_id in lines:
        if element_id in old and old[element_id] != lines[element_id]:
            out.append(f"~ {lines[element_id]}")
        elif element_id not in old:
            out.append(f"+ {lines[element_id]}")
    if len(out) > _SHOWN:
        out = [*out[:_SHOWN], f"… and {len(out) - _SHOWN} more changes"]
    if removed:
        gone = ", ".join(removed[:_SHOWN]) + (
            f" and {len(removed) - _SHOWN} more" if len(removed) > _SHOWN else ""
        )
        out.append(f"- gone: {gone}")
    if text_changed:
        out.append("(page text changed)")
    if scrolled:
        out.append(f"(scrolled to {round(scroll[1])}px)")
    return SnapshotDiff(
        added=tuple(added),
        removed=tuple(removed),
        changed=tuple(changed),
        text_changed=text_changed,
        scrolled=scrolled,
        ratio=round(ratio, 3),
        text="\n".join(out) if out else "(no changes)",
    )
