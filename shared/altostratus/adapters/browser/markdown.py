"""Page text as markdown, for extraction: rendered text only, frames inlined, links as short refs.

Links become ``[text][3]`` and their URLs are kept in `PageMarkdown.links` (``"3" -> URL``), so
long URLs cost the model nothing until it asks for one. Text that is not rendered (hidden,
scripts, templates) is left out; shadow roots and same-process iframes are included.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from urllib.parse import urljoin

from altostratus.adapters.browser.perception.capture import PageCapture, TargetCapture
from altostratus.adapters.browser.perception.dom import ELEMENT_NODE, TEXT_NODE, DocView

_BLOCKS = frozenset(
    [
        "p",
        "div",
        "section",
        "article",
        "header",
        "footer",
        "nav",
        "main",
        "aside",
        "form",
        "ul",
        "ol",
        "dl",
        "table",
        "figure",
        "figcaption",
        "blockquote",
        "address",
        "details",
        "summary",
        "fieldset",
        "legend",
        "dd",
        "dt",
        "tr",
        "caption",
        "body",
    ]
)
_HEADINGS = {"h1": 1, "h2": 2, "h3": 3, "h4": 4, "h5": 5, "h6": 6}
_SKIP = frozenset({"script", "style", "noscript", "template", "head", "svg", "select", "option"})
_BLANKS = re.compile(r"\n{3,}")
_SPACES = re.compile(r"[ \t\u00a0]+")


@dataclass
class PageMarkdown:
    url: str
    title: str
    text: str
    links: dict[str, str] = field(default_factory=dict)

    def with_link_list(self) -> str:
        """The text followed by its reference definitions (``[3]: https://…``)."""
        if not self.links:
            return self.text
        refs = "\n".join(f"[{key}]: {url}" for key, url in self.links.items())
        return f"{self.text}\n\n{refs}"


class _Writer:
    def __init__(self) -> None:
        self.parts: list[str] = []
        self.links: dict[str, str] = {}
        self._by_url: dict[str, str] = {}

    def text(self, value: str) -> None:
        self.parts.append(_SPACES.sub(" ", value.replace("\n", " ")))

    def raw(self, value: str) -> None:
        self.parts.append(value)

    def block(self) -> None:
        self.parts.append("\n\n")

    def link_ref(self, url: str) -> str:
        key = self._by_url.get(url)
        if key is None:
            key = str(len(self.links) + 1)
            self.links[key] = url
            self._by_url[url] = key
        return key

    def result(self) -> str:
        text = "".join(self.parts)
        lines = [_SPACES.sub(" ", line).strip() for line in text.split("\n")]
        return _BLANKS.sub("\n\n", "\n".join(lines)).strip()


def page_markdown(capture: PageCapture) -> PageMarkdown:
    writer = _Writer()
    by_owner = {c.owner: c for c in capture.targets[1:] if c.owner is not None}
    main = capture.main
    _write_doc(writer, main, main.docs[0], by_owner)
    doc = main.docs[0]
    return PageMarkdown(url=doc.url, title=doc.title, text=writer.result(), links=writer.links)


def _write_doc(
    writer: _Writer,
    tc: TargetCapture,
    doc: DocView,
    by_owner: dict[tuple[str, int], TargetCapture],
    depth: int = 0,
) -> None:
    # Iterative walk: (node, entering) pairs, so deep DOMs cannot exhaust the recursion limit.
    stack: list[tuple[int, bool]] = [(0, True)]
    link_start: dict[int, int] = {}
    while stack:
        node, entering = stack.pop()
        kind = doc.node_type[node]
        if kind == TEXT_NODE:
            if node in doc.layout_of:
                writer.text(doc.value(node))
            continue
        tag = doc.tag(node) if kind == ELEMENT_NODE else ""
        if not entering:
            _close(writer, doc, node, tag, link_start)
            continue
        if tag in _SKIP:
            continue
        # Not rendered itself; its children may still be (display: contents).
        unrendered = kind == ELEMENT_NODE and node not in doc.layout_of and tag not in ("html", "br")
        if unrendered and not any(k in doc.layout_of for k in doc.children(node)):
            continue
        if tag in ("iframe", "frame") and depth < 4:
            child_index = doc.content_document.get(node)
            if child_index is not None:
                writer.block()
                _write_doc(writer, tc, tc.docs[child_index], by_owner, depth + 1)
                writer.block()
            elif (owner := by_owner.get((tc.target.key, doc.backend_id[node]))) is not None and owner.docs:
                writer.block()
                _write_doc(writer, owner, owner.docs[0], by_owner, depth + 1)
                writer.block()
            continue
        _open(writer, doc, node, tag, link_start)
        stack.append((node, False))
        stack.extend((kid, True) for kid in reversed(doc.children(node)))


def _open(writer: _Writer, doc: DocView, node: int, tag: str, link_start: dict[int, int]) -> None:
    if tag in _HEADINGS:
        writer.block()
        writer.raw("#" * _HEADINGS[tag] + " ")
    elif tag == "li":
        writer.raw("\n- ")
    elif tag in ("td", "th"):
        writer.raw(" | ")
    elif tag == "br":
        writer.raw("\n")
    elif tag == "pre" or tag in _BLOCKS:
        writer.block()
    elif tag == "a":
        link_start[node] = len(writer.parts)
    elif tag == "img":
        alt = doc.attrs(node).get("alt", "").strip()
        if alt:
            writer.text(f" {alt} ")


def _close(writer: _Writer, doc: DocView, node: int, tag: str, link_start: dict[int, int]) -> None:
    if tag == "a" and node in link_start:
        start = link_start.pop(node)
        href = doc.attrs(node).get("href", "").strip()
        inner = "".join(writer.parts[start:]).strip()
        if href and not href.lower().startswith(("javascript:", "#")) and inner:
            key = writer.link_ref(urljoin(doc.url, href))
            del writer.parts[start:]
            writer.raw(f" [{' '.join(inner.split())}][{key}] ")
    elif tag in _HEADINGS or tag in _BLOCKS or tag == "pre":
        writer.block()
