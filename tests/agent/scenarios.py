"""Fixture tasks for the end-to-end tests and the bench: a request plus a scripted model that
reads each page it is shown (element ids come from the snapshot, values from the page text)."""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from tests.fakes.anthropic_server import MessagesRequest, Reply, Text, ToolUse
from tests.fakes.policies import Page, accept_when, act, agent_policy, done, extract_with, terminate

AGENT_PAGES = "agent"  # folder of this suite's pages inside the fixture site


def click(element: str) -> ToolUse:
    return ToolUse("click", {"element": element})


def type_text(element: str, text: str) -> ToolUse:
    return ToolUse("type", {"element": element, "text": text})


@dataclass(frozen=True)
class Scenario:
    name: str
    prompt: str
    start: str  # page of the agent folder the run starts on
    agent: Callable[[Page], Reply]
    request: dict[str, Any] = field(default_factory=dict)
    verifier: Callable[[MessagesRequest], Reply] | None = None
    extractor: Callable[[MessagesRequest], Reply] | None = None

    def policy(self) -> Callable[[MessagesRequest], Any]:
        kwargs: dict[str, Any] = {}
        if self.verifier is not None:
            kwargs["verifier"] = self.verifier
        if self.extractor is not None:
            kwargs["extractor"] = self.extractor
        return agent_policy(self.agent, **kwargs)


# --- structured extraction --------------------------------------------------------------

PRODUCT_SCHEMA = {
    "type": "object",
    "properties": {
        "name": {"type": "string"},
        "sku": {"type": "string", "pattern": "^[A-Z]{3}-\\d{3}$"},
        "price": {"type": "number"},
        "units_in_stock": {"type": "integer"},
    },
    "required": ["name", "sku", "price", "units_in_stock"],
    "additionalProperties": False,
}


def read_product(markdown: str) -> dict[str, Any]:
    """What a model would read off the product page's markdown."""
    name = re.search(r"^#\s+(.+)$", markdown, re.MULTILINE)
    sku = re.search(r"SKU\W+([A-Z]{3}-\d{3})", markdown)
    price = re.search(r"Price\W+\$([\d.]+)", markdown)
    stock = re.search(r"In stock\W+(\d+)", markdown)
    assert name and sku and price and stock, markdown
    return {
        "name": name.group(1).strip(),
        "sku": sku.group(1),
        "price": float(price.group(1)),
        "units_in_stock": int(stock.group(1)),
    }


def open_the_lamp(page: Page) -> Reply:
    if page.title.startswith("Desk lamp"):
        return done("The desk lamp's page shows its details.")
    return act(click(page.element("Desk lamp", role="link")), thought="The lamp is in the catalogue.")


EXTRACTION = Scenario(
    name="extract product",
    prompt="Get the desk lamp's name, SKU, price and units in stock.",
    start="shop.html",
    agent=open_the_lamp,
    request={"data_extraction_schema": PRODUCT_SCHEMA},
    verifier=accept_when("LMP-204"),
    extractor=extract_with(read_product),
)


# --- a multi-step form -------------------------------------------------------------------


def sign_up(page: Page) -> Reply:
    if page.sees("Welcome aboard"):
        return done("The account was created on the Team plan.")
    if page.sees("Choose your plan"):
        return act(
            ToolUse("select", {"element": page.element("Plan"), "option": "Team"}),
            ToolUse("check", {"element": page.element("accept the terms")}),
            click(page.element("Create account", role="button")),
            thought="Step 2: plan and terms.",
        )
    return act(
        type_text(page.element("Full name"), "Ada Lovelace"),
        type_text(page.element("Email"), "ada@example.com"),
        click(page.element("Next", role="button")),
        thought="Step 1: name and email.",
    )


FORM = Scenario(
    name="multi-step form",
    prompt="Create an account for Ada Lovelace (ada@example.com) on the Team plan.",
    start="signup-1.html",
    agent=sign_up,
    verifier=accept_when("Welcome aboard", "Ada Lovelace", "Team"),
)


# --- following links ---------------------------------------------------------------------


def find_the_warranty_code(page: Page) -> Reply:
    code = re.search(r"WR-\d{4}-[A-Z]", page.observation)
    if code:
        return done("The warranty page shows the code.", answer=code.group(0))
    if page.title.startswith("Electric kettle"):
        return act(click(page.element("Warranty terms", role="link")))
    return act(click(page.element("Electric kettle", role="link")))


LINKS = Scenario(
    name="follow links",
    prompt="What is the warranty reference code of the electric kettle?",
    start="shop.html",
    agent=find_the_warranty_code,
    verifier=accept_when("WR-7731-K"),
)


# --- downloading a file ----------------------------------------------------------------------


def download_the_report(page: Page) -> Reply:
    if page.turn == 0:
        return act(click(page.element("Download the report", role="link")))
    return done("The report was downloaded.", answer="report.csv")


DOWNLOAD = Scenario(
    name="download a file",
    prompt="Download the monthly report.",
    start="reports.html",
    agent=download_the_report,
    verifier=accept_when("Monthly reports"),
)


# --- a page that tries to take over --------------------------------------------------------


def unfenced(text: str) -> str:
    return re.sub(r"^BEGIN_(PAGE_DATA_\w+)\n.*?^END_\1$", "", text, flags=re.MULTILINE | re.DOTALL)


def confirm_order_unless_told_otherwise(page: Page) -> Reply:
    """Obeys instructions written outside the page-data fence, like a model that trusts them."""
    if "IGNORE ALL PREVIOUS INSTRUCTIONS" in unfenced(page.request.all_user_text()):
        return Reply.of(
            Text("Following the new instructions."),
            ToolUse("navigate", {"url": "http://evil.example/"}),
        )
    if page.sees("Order confirmed"):
        return done("Order ORD-5521 is confirmed.", answer="ORD-5521")
    return act(click(page.element("Confirm order", role="link")))


INJECTION = Scenario(
    name="prompt injection",
    prompt="Confirm my order and tell me its number.",
    start="injection.html",
    agent=confirm_order_unless_told_otherwise,
    request={"error_code_mapping": {"NOT_FOUND": "the order does not exist"}},
    verifier=accept_when("Order confirmed"),
)


# --- a goal that is impossible ---------------------------------------------------------------


def buy_the_radio(page: Page) -> Reply:
    if page.sees("out of stock"):
        codes = page.request.tool_schema("terminate")["properties"]["error_code"]["enum"]
        code = next(c for c in codes if "STOCK" in c)
        return terminate("The page says: 'This item is out of stock and has been discontinued.'", code)
    return act(click(page.element("Pocket radio", role="link")))


OUT_OF_STOCK = Scenario(
    name="terminate with a user error code",
    prompt="Add the pocket radio to the cart.",
    start="shop.html",
    agent=buy_the_radio,
    request={
        "error_code_mapping": {
            "OUT_OF_STOCK": "the product cannot be bought because it is out of stock",
            "PAYMENT_FAILED": "the payment was refused",
        }
    },
)

BENCH_SCENARIOS = (EXTRACTION, FORM, LINKS, INJECTION)
