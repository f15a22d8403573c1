"""An in-memory stand-in for the browser, for fast tests of the loop's own logic.

Pages are lists of elements; links navigate, text boxes hold values, a button may submit the
page's form to another page. End-to-end tests use real Chromium instead.
"""

from __future__ import annotations

import hashlib
import struct
import zlib
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from altostratus.domain.replay.targets import SelectorBundle
from altostratus.ports.browser import Download, Effect, FoundText, Located, Observation, TargetText


@dataclass
class El:
    id: str
    role: str
    name: str
    href: str | None = None
    value: str = ""
    # A button with `submit_to` goes there, carrying the page's values.
    submit_to: str | None = None


@dataclass
class FakePage:
    title: str
    elements: list[El]
    text: str = ""


def _png(width: int = 4, height: int = 3) -> bytes:
    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))

    raw = b"".join(b"\x00" + b"\xff\x00\x00" * width for _ in range(height))
    header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", header)
        + chunk(b"IDAT", zlib.compress(raw))
        + chunk(b"IEND", b"")
    )


TOOLS: list[dict[str, Any]] = [
    {
        "name": "click",
        "description": "Click an element.",
        "input_schema": {
            "type": "object",
            "properties": {"element_id": {"type": "string"}},
            "required": ["element_id"],
            "additionalProperties": False,
        },
    },
    {
        "name": "type_text",
        "description": "Type into a text box.",
        "input_schema": {
            "type": "object",
            "properties": {"element_id": {"type": "string"}, "text": {"type": "string"}},
            "required": ["element_id", "text"],
            "additionalProperties": False,
        },
    },
]


@dataclass
class FakeBrowser:
    pages: dict[str, FakePage]
    url: str = "about:blank"
    submitted: list[dict[str, str]] = field(default_factory=list)
    typed: list[str] = field(default_factory=list)

    def action_tools(self) -> list[dict[str, Any]]:
        return TOOLS

    def action_type_of(self, tool: str) -> str:
        return {"click": "click", "type_text": "input_text"}[tool]

    def _page(self) -> FakePage:
        return self.pages.get(self.url, FakePage("Not found", [], "404"))

    def _lines(self) -> str:
        page = self._page()
        lines = [page.text] if page.text else []
        for el in page.elements:
            value = (
                f' value="{"*" * len(el.value) if el.role == "password" else el.value}"' if el.value else ""
            )
            lines.append(f'{el.id} {el.role} "{el.name}"{value}')
        return "\n".join(lines)

    async def open(self, url: str) -> Effect:
        self.url = url
        return Effect(ok=True, summary=f"Opened {url}", page_changed=True)

    async def observe(self, *, full: bool, whole_page: bool = False) -> Observation:
        text = self._lines()
        fingerprint = hashlib.sha256(f"{self.url}\n{text}".encode()).hexdigest()[:16]
        return Observation(
            url=self.url,
            title=self._page().title,
            text=text,
            full_text=text,
            fingerprint=fingerprint,
            element_count=len(self._page().elements),
        )

    async def execute(self, tool: str, params: dict[str, Any]) -> Effect:
        element = next((e for e in self._page().elements if e.id == params["element_id"]), None)
        if element is None:
            return Effect(
                ok=False, summary="Nothing done.", error=f"No element with id {params['element_id']}."
            )
        if tool == "type_text":
            element.value = params["text"]
            self.typed.append(params["text"])
            return Effect(ok=True, summary=f"Typed into {element.name}; the field now holds the text.")
        if element.href:
            self.url = element.href
            return Effect(ok=True, summary=f"Navigated to {element.href}", page_changed=True)
        if element.submit_to:
            self.submitted.append({e.name: e.value for e in self._page().elements if e.value})
            self.url = element.submit_to
            return Effect(ok=True, summary=f"Submitted; now at {self.url}", page_changed=True)
        return Effect(ok=True, summary="Clicked; nothing changed on the page.")

    async def screenshot(self, *, scrolls: int = 0) -> bytes:
        return _png()

    async def markdown(self) -> str:
        page = self._page()
        return f"# {page.title}\n{page.text}\n" + "\n".join(
            f"{e.name} {e.value}".strip() for e in page.elements
        )

    async def html(self) -> str:
        return f"<html><body>{self._lines()}</body></html>"

    async def new_downloads(self) -> list[Download]:
        return []

    # Replay needs selector bundles, which only the real browser layer computes.
    async def locate(self, target: SelectorBundle) -> Located:
        return Located(reason="the fake browser does not find elements by selector bundle")

    async def read_target(self, target: SelectorBundle) -> TargetText:
        return TargetText(reason="the fake browser does not read elements by selector bundle")

    async def find_text(self, values: Sequence[str]) -> list[FoundText | None]:
        return [None for _ in values]
