"""The scripted model of the offline demo: it reads the page it is shown, as Claude would, and
answers the demo's two tasks. It is a stand-in so the demo needs no API key — nothing more."""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

from altostratus.demo.site import PAGES
from altostratus.devtools import cua_script as cs
from altostratus.devtools.fake_anthropic.computer import computer_policy
from altostratus.devtools.fake_anthropic.policies import (
    Page,
    accept_all,
    agent_policy,
    done,
    extract_with,
)
from altostratus.devtools.fake_anthropic.server import MessagesRequest, Reply

PRODUCT_SCHEMA: dict[str, Any] = {
    "type": "object",
    "properties": {
        "name": {"type": "string", "description": "the product's name"},
        "sku": {"type": "string"},
        "price": {"type": "number", "description": "in US dollars"},
        "in_stock": {"type": "integer"},
    },
    "required": ["name", "sku", "price", "in_stock"],
    "additionalProperties": False,
}


def _answer(page: Page) -> Reply:
    # Both demo tasks are answered from the page as it first appears: the title task from the
    # observation's title line, the extraction task by `done` (its output comes from extraction).
    return done("The page shows what was asked.", answer=page.title or None)


def _read_product(markdown: str) -> dict[str, Any]:
    name = re.search(r"^#\s+(.+)$", markdown, re.MULTILINE)
    sku = re.search(r"SKU\W+([A-Z]{3}-\d{3})", markdown)
    price = re.search(r"Price\W+\$([\d.]+)", markdown)
    stock = re.search(r"In stock\W+(\d+)", markdown)
    if not (name and sku and price and stock):
        return {}
    return {
        "name": name.group(1).strip(),
        "sku": sku.group(1),
        "price": float(price.group(1)),
        "in_stock": int(stock.group(1)),
    }


def scripted_model(computer: cs.Script | None = None) -> Callable[[MessagesRequest], Any]:
    """The policy for the fake Messages server (with `computer`: the computer-use script too)."""
    policy = agent_policy(_answer, verifier=accept_all, extractor=extract_with(_read_product))
    return policy if computer is None else computer_policy(computer, policy)


def scripted_computer() -> cs.Script:
    """The computer-use stand-in: it sees the bundled page and says it is done (the title task's
    answer is the page's title; the extraction task's output comes from extraction)."""
    title = re.search(r"<title>(.*?)</title>", (PAGES / "index.html").read_text(), re.DOTALL)
    return cs.Script([cs.Done(title.group(1).strip() if title else "")], cs.Layout({}))
