"""The line format the model reads.

::

    Page: "Checkout" http://shop.example/checkout
    View: 0-720 of 2400px
    [dialog "Cookie settings"] modal
      e3 button "Accept all"
    # Checkout
    e5 textbox "Email" value="ann@example.com" required
    e6 combobox "Country" value="France" options: "Germany" | "France" | … (240)
    e7 checkbox "Save card" checked
    "We never share your email."
    e9 iframe "Payment" http://pay.example/card
      e10 textbox "Card number"
    Below (1680px): 23 links, 2 buttons. Headings: "Reviews", "FAQ"

Overlays (dialogs, popups, large fixed layers) come first. In viewport mode only what is
in the viewport is listed, elements hidden under an overlay are left out, and the rest of the
page is summarised by counts and headings; `full` lists every element, heading and block of
text of the page.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable
from urllib.parse import urlsplit

from altostratus.adapters.browser.perception.model import Element, TabInfo
from altostratus.adapters.browser.perception.pagemodel import (
    ELEMENT,
    FRAME_END,
    HEADING,
    TEXT,
    Item,
    PageModel,
)
from altostratus.adapters.browser.perception.semantics import clean

# Characters of one block of text shown (the rest is cut with an ellipsis), in the viewport and
# in the whole-page rendering alike; the page's markdown has the text in full.
TEXT_LIMIT = 90
HEADINGS_IN_OUTLINE = 6
_PLURAL = {
    "checkbox": "checkboxes",
    "textbox": "textboxes",
    "searchbox": "searchboxes",
    "listbox": "listboxes",
    "combobox": "comboboxes",
    "switch": "switches",
}


def quote(text: str) -> str:
    return '"' + text.replace('"', "'") + '"'


def element_line(element: Element, *, covered_mark: bool = False) -> str:
    """One element: ``e12 textbox "Email" value="a@b.c" type=email required``."""
    parts = [element.id, element.role]
    if element.name:
        parts.append(quote(element.name))
    elif element.role == "link" and element.href:
        parts.append("href=" + quote(_short_href(element.href)))
    elif element.role in ("clickable", "button"):
        hint = element.tag
        bundle = element.selectors
        if bundle.test_id is not None:
            hint += f"[{bundle.test_id.attribute}={bundle.test_id.value}]"
        elif bundle.element_id:
            hint += f"#{bundle.element_id}"
        parts.append(hint)
    if element.role == "iframe" and element.href:
        parts.append(_short_href(element.href, keep_host=True))
    if element.value:
        parts.append("value=" + quote(element.value))
    if element.input_type:
        parts.append(f"type={element.input_type}")
    parts.extend(element.states)
    if element.option_count:
        shown = " | ".join(quote(o) for o in element.options)
        more = element.option_count - len(element.options)
        parts.append(f"options: {shown}" + (f" | … ({element.option_count})" if more > 0 else ""))
    if covered_mark and element.covered:
        parts.append("covered")
    return " ".join(parts)


def _short_href(href: str, *, keep_host: bool = False) -> str:
    parts = urlsplit(href)
    path = parts.path or "/"
    if parts.query:
        path += "?" + parts.query
    text = f"{parts.netloc}{path}" if keep_host else path
    return clean(text, 60)


def _plural(role: str, count: int) -> str:
    if count == 1:
        return f"1 {role}"
    return f"{count} {_PLURAL.get(role, role + 's')}"


def _counts(items: Iterable[Item]) -> str:
    roles = Counter(i.element.role for i in items if i.element is not None and i.element.role != "iframe")
    return ", ".join(_plural(role, n) for role, n in roles.most_common())


def _region_counts(items: list[Item]) -> str:
    """Counts per landmark (``navigation "Footer": 20 links; main: 3 buttons``) when there are several."""
    regions: dict[str, list[Item]] = {}
    for item in items:
        if item.element is not None:
            regions.setdefault(item.landmark, []).append(item)
    if len(regions) <= 1:
        return _counts(items)
    parts = []
    for landmark, members in regions.items():
        counts = _counts(members)
        if counts:
            parts.append(f"{landmark or 'elsewhere'}: {counts}")
    return "; ".join(parts)


def _item_line(item: Item, *, full: bool) -> str | None:
    indent = "  " * item.depth
    if item.kind == ELEMENT and item.element is not None:
        return indent + element_line(item.element, covered_mark=full)
    if item.kind == HEADING:
        return f"{indent}{'#' * item.level} {item.text}" if item.text else None
    if item.kind == TEXT:
        return f"{indent}{quote(clean(item.text, TEXT_LIMIT))}"
    return None


def _header(model: PageModel, tabs: Iterable[TabInfo], *, full: bool) -> list[str]:
    lines = [f"Page: {quote(clean(model.title, 80))} {model.url}"]
    open_tabs = list(tabs)
    if len(open_tabs) > 1:
        listed = " | ".join(
            f"{t.id} {quote(clean(t.title or t.url, 40))}" + (" (active)" if t.active else "")
            for t in open_tabs
        )
        lines.append(f"Tabs: {listed}")
    if not full:
        top = round(model.scroll_y)
        bottom = round(model.scroll_y + model.viewport_height)
        lines.append(f"View: {top}-{bottom} of {round(model.page_height)}px")
    return lines


def render(model: PageModel, tabs: Iterable[TabInfo] = (), *, full: bool) -> str:
    """The page as lines: overlays first, then the viewport (or, with `full`, the whole page)."""
    lines = _header(model, tabs, full=full)
    for index, overlay in enumerate(model.overlays):
        members = [i for i in model.items if i.overlay == index and (full or i.in_viewport)]
        body = [line for i in members if (line := _item_line(i, full=full)) is not None]
        if not body:
            continue
        lines.append(f"[{overlay.label}]" + (f" {overlay.note}" if overlay.note else ""))
        lines.extend("  " + line for line in body)
    hidden = 0
    above: list[Item] = []
    below: list[Item] = []
    for item in model.items:
        if item.overlay >= 0 or item.kind == FRAME_END:
            continue
        if not full and not item.in_viewport:
            (above if item.y < 0 else below).append(item)
            continue
        if not full and item.element is not None and item.element.covered:
            hidden += 1
            continue
        line = _item_line(item, full=full)
        if line is not None:
            lines.append(line)
    if hidden:
        what = "1 element" if hidden == 1 else f"{hidden} elements"
        lines.append(f"({what} under the overlay, hidden until it is closed)")
    if not full:
        lines.extend(_outline(model, above, below))
    return "\n".join(lines)


def _outline(model: PageModel, above: list[Item], below: list[Item]) -> list[str]:
    lines: list[str] = []
    if above and (counts := _counts(above)):
        where = f"Above ({round(model.scroll_y)}px)" if model.scroll_y >= 1 else "Off-screen above the page"
        lines.append(f"{where}: {counts}.")
    if below:
        rest = model.page_height - model.scroll_y - model.viewport_height
        counts = _region_counts(below)
        headings = [i.text for i in below if i.kind == HEADING and i.text]
        text = f"Below ({max(0, round(rest))}px): {counts or 'no controls'}."
        if headings:
            shown = ", ".join(quote(clean(h, 40)) for h in headings[:HEADINGS_IN_OUTLINE])
            extra = len(headings) - HEADINGS_IN_OUTLINE
            text += f" Headings: {shown}" + (f" (+{extra} more)" if extra > 0 else "")
        lines.append(text)
    return lines


def element_lines(model: PageModel) -> dict[str, str]:
    """Every element's line keyed by id (what snapshot diffs compare)."""
    return {
        i.element.id: element_line(i.element, covered_mark=True) for i in model.items if i.element is not None
    }


def text_lines(model: PageModel) -> list[str]:
    """Headings and text of the page, to tell whether text changed between snapshots."""
    return [i.text for i in model.items if i.kind in (HEADING, TEXT)]
