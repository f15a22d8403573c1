"""What the browser layer records for a replay: the element each action acted on (for element
ids and for screen coordinates, where the hit test names it) and the effect it had."""

from __future__ import annotations

import asyncio

import pytest

from altostratus.adapters.browser.agent_browser import SessionBrowser
from altostratus.ports.computer import PixelClick, PixelType
from tests.replay import scenario
from tests.support.fixture_site import FixtureSite

pytestmark = pytest.mark.browser


def _center(browser: SessionBrowser, loop: asyncio.AbstractEventLoop, name: str) -> tuple[float, float]:
    snapshot = loop.run_until_complete(browser.session.snapshot(full=True))
    element = next(e for e in snapshot.elements if e.name == name)
    return element.bbox.center


def test_a_click_at_coordinates_records_the_element_it_hit_and_where_it_led(
    site: FixtureSite, chromium: SessionBrowser, browser_loop: asyncio.AbstractEventLoop
) -> None:
    run = browser_loop.run_until_complete
    start = site.url(f"{scenario.PAGES}/order-1.html")
    run(chromium.open(start))
    x, y = _center(chromium, browser_loop, "Full name")
    run(chromium.pixels(PixelClick(x=x, y=y)))
    typed = run(chromium.pixels(PixelType(text="Ada Lovelace")))
    # Typing goes to the focused field: that is the element recorded.
    assert typed.target is not None
    assert (typed.target.label, typed.target.name_attr, typed.target.tag) == (
        "Full name",
        "full_name",
        "input",
    )
    x, y = _center(chromium, browser_loop, "Email")
    run(chromium.pixels(PixelClick(x=x, y=y)))
    run(chromium.pixels(PixelType(text="ada@example.com")))
    x, y = _center(chromium, browser_loop, "Next")
    clicked = run(chromium.pixels(PixelClick(x=x, y=y)))
    assert clicked.target is not None
    assert (clicked.target.role, clicked.target.name, clicked.target.css) == (
        "button",
        "Next",
        "body > main > form > button",
    )
    observed = clicked.effect.observed
    assert observed is not None and observed.url_before == start
    assert observed.url_after is not None and "order-2.html?full_name=Ada+Lovelace" in observed.url_after
    # The bundle computed in the page finds the same element among perception's on a new load.
    run(chromium.open(start))
    found = run(chromium.locate(clicked.target))
    assert found.matched_by == "role+name"
    element = chromium.session.element(found.element_id or "")
    assert element is not None and (element.role, element.name) == ("button", "Next")


def test_an_action_on_an_element_id_records_its_bundle_and_the_value_read_back(
    site: FixtureSite, chromium: SessionBrowser, browser_loop: asyncio.AbstractEventLoop
) -> None:
    run = browser_loop.run_until_complete
    run(chromium.open(site.url(f"{scenario.PAGES}/order-2.html?full_name=A&email=a%40b.c")))
    snapshot = run(chromium.session.snapshot(full=True))
    plan = next(e for e in snapshot.elements if e.name == "Plan")
    effect = run(chromium.execute("select", {"element": plan.id, "option": "Enterprise"}))
    assert effect.target is not None
    assert (effect.target.role, effect.target.label, effect.target.name_attr) == ("combobox", "Plan", "plan")
    assert effect.observed is not None
    assert (effect.observed.value, effect.observed.value_matches) == ("Enterprise", True)
    assert "target" not in effect.details


def test_values_are_traced_to_the_smallest_element_showing_them(
    site: FixtureSite, chromium: SessionBrowser, browser_loop: asyncio.AbstractEventLoop
) -> None:
    run = browser_loop.run_until_complete
    run(chromium.open(site.url(f"{scenario.PAGES}/order-done.html?full_name=Ada&email=a%40b.c&plan=team")))
    confirmation = scenario.confirmation_number("Ada", "a@b.c", "Team")
    found = run(chromium.find_text([confirmation, "49.00", "not on this page"]))
    assert found[0] is not None and found[0].target.element_id == "confirmation"
    assert found[1] is not None and (found[1].target.tag, found[1].text) == ("span", "$49.00")
    assert found[2] is None
    read = run(chromium.read_target(found[1].target))
    assert (read.text, read.matched_by) == ("$49.00", "css")
