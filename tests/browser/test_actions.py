"""Every fixture widget operated by element id, with the effect report each action returns."""

from __future__ import annotations

from pathlib import Path

from altostratus.adapters.browser import (
    ActionError,
    BrowserSession,
    Check,
    Click,
    Hover,
    Press,
    Scroll,
    Select,
    Snapshot,
    TypeText,
    Upload,
    Wait,
)
from tests.browser.test_perception import by_name
from tests.support.fixture_site import FixtureSite


async def open_page(session: BrowserSession, site: FixtureSite, path: str) -> Snapshot:
    report = await session.goto(site.url(path))
    assert report.ok, report.summary
    return await session.snapshot()


async def page_text(session: BrowserSession) -> str:
    return str(await session.page.evaluate("document.body.innerText"))


# -- clicks --


async def test_a_click_that_changes_nothing_reports_no_visible_effect(
    session: BrowserSession, site: FixtureSite
) -> None:
    snap = await open_page(session, site, "/controls.html")
    report = await session.act(Click(element=by_name(snap, "Does nothing").id))
    assert report.ok and report.no_effect
    assert "No visible effect" in report.summary


async def test_a_click_that_changes_the_page_says_what_changed(
    session: BrowserSession, site: FixtureSite
) -> None:
    snap = await open_page(session, site, "/controls.html")
    report = await session.act(Click(element=by_name(snap, "Count").id))
    assert report.ok and not report.no_effect
    assert report.method == "mouse" and report.change.text_changed
    assert "Clicked 1 times" in await page_text(session)


async def test_a_disabled_button_is_not_clicked(session: BrowserSession, site: FixtureSite) -> None:
    snap = await open_page(session, site, "/controls.html")
    report = await session.act(Click(element=by_name(snap, "Cannot press").id))
    assert not report.ok and report.error is ActionError.DISABLED


async def test_settling_waits_for_the_request_a_click_started(
    session: BrowserSession, site: FixtureSite
) -> None:
    snap = await open_page(session, site, "/controls.html")
    # the button fetches /api/slow?ms=300 and only then writes its result
    report = await session.act(Click(element=by_name(snap, "Load data").id))
    assert report.change.text_changed
    assert "Loaded 3 items" in await page_text(session)


async def test_a_confirm_dialog_is_accepted_and_reported(session: BrowserSession, site: FixtureSite) -> None:
    snap = await open_page(session, site, "/controls.html")
    report = await session.act(Click(element=by_name(snap, "Delete all").id))
    assert [(d.type, d.message) for d in report.dialogs] == [("confirm", "Delete everything?")]
    assert report.page_changed and "Delete everything?" in report.summary
    assert "Deleted" in await page_text(session)


async def test_a_modal_that_intercepts_the_click_is_closed_first(
    session: BrowserSession, site: FixtureSite
) -> None:
    snap = await open_page(session, site, "/modal.html")
    report = await session.act(Click(element=by_name(snap, "Read the article").id))
    assert report.ok and report.method == "mouse after closing the overlay"
    assert any("covered by" in note for note in report.notes)
    assert "Target pressed" in await page_text(session)


async def test_a_cookie_banner_over_the_target_is_dismissed_by_rejecting(
    session: BrowserSession, site: FixtureSite
) -> None:
    snap = await open_page(session, site, "/cookie.html")
    # the banner is listed first, and what it hides is left out of the view
    assert snap.text.splitlines()[2] == '[overlay "Cookie consent"] covers part of the page'
    assert "(1 element under the overlay, hidden until it is closed)" in snap.text
    report = await session.act(Click(element=by_name(snap, "Open the recipe of the day").id))
    assert report.ok, report.summary
    assert any("Reject all" in note for note in report.notes)
    assert "Recipe opened" in await page_text(session)
    cookies = {c["name"]: c["value"] for c in await session.context.cookies()}
    assert cookies.get("consent") == "none"


async def test_hover_moves_the_mouse_over_the_element(session: BrowserSession, site: FixtureSite) -> None:
    snap = await open_page(session, site, "/controls.html")
    element = by_name(snap, "Count")
    report = await session.act(Hover(element=element.id))
    assert report.ok
    hovered = await session.page.evaluate("document.querySelector('#counter').matches(':hover')")
    assert hovered


# -- typing --


async def test_typed_text_is_read_back(session: BrowserSession, site: FixtureSite) -> None:
    snap = await open_page(session, site, "/controls.html")
    email = by_name(snap, "Email")
    report = await session.act(TypeText(element=email.id, text="ann@example.com"))
    assert report.ok and report.value == "ann@example.com" and report.value_matches
    # typing again replaces the text …
    report = await session.act(TypeText(element=email.id, text="bo@example.com"))
    assert report.value == "bo@example.com"
    # … unless asked to append
    about = by_name(snap, "About you")
    await session.act(TypeText(element=about.id, text="Line one."))
    report = await session.act(TypeText(element=about.id, text=" More.", clear=False))
    assert report.value == "Line one. More." and report.value_matches


async def test_a_field_that_keeps_less_than_typed_is_a_mismatch(
    session: BrowserSession, site: FixtureSite
) -> None:
    snap = await open_page(session, site, "/controls.html")
    report = await session.act(TypeText(element=by_name(snap, "Phone").id, text="+44 20 7946 0958"))
    assert not report.ok and report.error is ActionError.VALUE_MISMATCH
    assert report.value == "+44 20"


async def test_typing_a_password_never_echoes_it(session: BrowserSession, site: FixtureSite) -> None:
    snap = await open_page(session, site, "/controls.html")
    report = await session.act(TypeText(element=by_name(snap, "Password").id, text="correct horse"))
    assert report.ok and report.value_matches and report.value == "••••••"
    assert "correct horse" not in report.model_dump_json()
    assert await session.page.input_value("#password") == "correct horse"


async def test_submit_presses_enter_after_typing(session: BrowserSession, site: FixtureSite) -> None:
    snap = await open_page(session, site, "/controls.html")
    report = await session.act(
        TypeText(element=by_name(snap, "Email").id, text="cy@example.com", submit=True)
    )
    assert report.ok
    assert "Submitted cy@example.com" in await page_text(session)


async def test_typing_into_a_frame_of_another_site(session: BrowserSession, site: FixtureSite) -> None:
    snap = await open_page(session, site, "/frames.html")
    frame = by_name(snap, "Cross site", role="iframe")
    field, button = (e for e in snap.elements if e.frame == frame.id)
    typed = await session.act(TypeText(element=field.id, text="Ada"))
    assert typed.value == "Ada" and typed.value_matches
    clicked = await session.act(Click(element=button.id))
    assert clicked.ok and clicked.change.text_changed
    after = await session.snapshot(full=True)
    assert after.diff is not None and after.diff.text_changed


async def test_typing_and_clicking_inside_shadow_roots(session: BrowserSession, site: FixtureSite) -> None:
    snap = await open_page(session, site, "/shadow.html")
    await session.act(TypeText(element=by_name(snap, "Search in shadow").id, text="lamps"))
    report = await session.act(Click(element=by_name(snap, "Search").id))
    assert report.change.text_changed
    closed = await session.act(Click(element=by_name(snap, "Unlock vault").id))
    assert closed.ok and closed.change.text_changed and not closed.no_effect
    check = await session.act(Check(element=by_name(snap, "Remember this device").id))
    assert check.checked is True


# -- choices --


async def test_checkboxes_and_radios_report_their_state(session: BrowserSession, site: FixtureSite) -> None:
    snap = await open_page(session, site, "/controls.html")
    terms = by_name(snap, "I accept the terms")
    report = await session.act(Check(element=terms.id))
    assert report.ok and report.checked is True
    again = await session.act(Check(element=terms.id))
    assert again.checked is True and again.no_effect and "already checked" in again.summary
    off = await session.act(Check(element=terms.id, checked=False))
    assert off.checked is False
    # a visually hidden checkbox is checked through its label
    news = await session.act(Check(element=by_name(snap, "Send me news").id))
    assert news.ok and news.checked is True
    assert await session.page.is_checked("#news")
    pro = await session.act(Check(element=by_name(snap, "Pro").id))
    assert pro.checked is True
    radio_off = await session.act(Check(element=by_name(snap, "Pro").id, checked=False))
    assert not radio_off.ok and radio_off.error is ActionError.NOT_CHECKABLE


async def test_a_native_select_takes_a_close_match(session: BrowserSession, site: FixtureSite) -> None:
    snap = await open_page(session, site, "/controls.html")
    country = by_name(snap, "Country")
    report = await session.act(Select(element=country.id, option="united kingdom"))
    assert report.ok and report.value == "United Kingdom"
    assert await session.page.input_value("#country") == "gb"
    missing = await session.act(Select(element=country.id, option="Atlantis"))
    assert not missing.ok and missing.error is ActionError.OPTION_NOT_FOUND
    assert "Germany" in (missing.detail or "")


async def test_a_custom_dropdown_is_opened_and_its_option_chosen(
    session: BrowserSession, site: FixtureSite
) -> None:
    snap = await open_page(session, site, "/select2.html")
    city = by_name(snap, "City", role="combobox")
    report = await session.act(Select(element=city.id, option="Lisbon"))
    assert report.ok, report.summary
    assert report.value == "Lisbon" and report.value_matches
    assert await session.page.input_value("#city") == "lis"
    assert "Shipping to Lisbon" in await page_text(session)
    # accents and case do not matter
    again = await session.act(Select(element=city.id, option="sao paulo"))
    assert again.ok and again.value == "São Paulo"


async def test_date_inputs_take_iso_dates_and_pickers_take_clicks(
    session: BrowserSession, site: FixtureSite
) -> None:
    snap = await open_page(session, site, "/datepicker.html")
    arrival = await session.act(TypeText(element=by_name(snap, "Arrival").id, text="2031-05-10"))
    assert arrival.ok and arrival.value == "2031-05-10"
    # the custom picker: clicking the field opens a calendar dialog whose days are buttons
    opened = await session.act(Click(element=by_name(snap, "Departure").id))
    assert opened.change.added >= 31
    calendar = await session.snapshot()
    assert '[dialog "Choose departure date"]' in calendar.text
    day = by_name(calendar, "May 15, 2031")
    picked = await session.act(Click(element=day.id))
    assert picked.ok
    assert "Stay: 2031-05-10 to 2031-05-15" in await page_text(session)


# -- keys, scrolling, waiting --


async def test_keys_are_pressed_in_the_focused_element(session: BrowserSession, site: FixtureSite) -> None:
    snap = await open_page(session, site, "/select2.html")
    city = by_name(snap, "City", role="combobox")
    await session.act(Click(element=city.id))
    report = await session.act(
        Press(keys="Escape", element=by_name(await session.snapshot(), "Filter cities").id)
    )
    assert report.ok and report.change.removed >= 6


async def test_scrolling_an_infinite_feed_loads_more(session: BrowserSession, site: FixtureSite) -> None:
    snap = await open_page(session, site, "/infinite.html")
    first_count = len(snap.elements)
    report = await session.act(Scroll(direction="down", amount=3))
    assert report.ok and report.scrolled_by > 0
    assert report.change.added > 0
    after = await session.snapshot()
    assert len(after.elements) > first_count
    for _ in range(6):
        report = await session.act(Scroll(direction="down", amount=10))
    assert "End of the feed" in await page_text(session)
    assert report.scrolled_by == 0 and "already at its bottom" in report.summary


async def test_a_page_that_scrolls_an_inner_container_is_scrolled_there(
    session: BrowserSession, site: FixtureSite
) -> None:
    snap = await open_page(session, site, "/appshell.html")
    last = by_name(snap, "Message 10")
    assert not last.in_viewport
    report = await session.act(Scroll(direction="down", amount=2))
    assert report.ok and report.scrolled_by > 0
    assert "'Messages'" in report.summary
    assert by_name(await session.snapshot(), "Message 10").in_viewport


async def test_waiting_for_text_and_for_an_element_to_go(session: BrowserSession, site: FixtureSite) -> None:
    snap = await open_page(session, site, "/modal.html")
    present = await session.act(Wait(text="Get 20% off", timeout_ms=2_000))
    assert present.ok
    absent = await session.act(Wait(text="This text is nowhere", timeout_ms=300))
    assert not absent.ok and absent.error is ActionError.TIMEOUT
    dialog_button = by_name(snap, "Subscribe")
    await session.act(Click(element=by_name(snap, "Close").id))
    gone = await session.act(Wait(element=dialog_button.id, state="hidden", timeout_ms=2_000))
    assert gone.ok


async def test_an_unknown_id_is_a_clear_failure(session: BrowserSession, site: FixtureSite) -> None:
    await open_page(session, site, "/controls.html")
    report = await session.act(Click(element="e99999"))
    assert not report.ok and report.error is ActionError.ELEMENT_NOT_FOUND
    assert "take a new snapshot" in report.summary


async def test_an_element_rerendered_by_the_page_is_found_again(
    session: BrowserSession, site: FixtureSite
) -> None:
    snap = await open_page(session, site, "/controls.html")
    count = by_name(snap, "Count")
    # the page replaces the button with an identical new node
    await session.page.evaluate(
        "const b = document.querySelector('#counter'); b.replaceWith(b.cloneNode(true));"
        "document.querySelector('#counter').onclick = () => {"
        "  document.querySelector('#count-out').textContent = 'again'; };"
    )
    report = await session.act(Click(element=count.id))
    assert report.ok and report.element != count.id
    assert "re-rendered" in report.summary
    assert "again" in await page_text(session)


# -- files --


async def test_uploading_to_a_file_input_and_through_a_chooser(
    session: BrowserSession, site: FixtureSite, tmp_path: Path
) -> None:
    cv = tmp_path / "cv.pdf"
    cv.write_bytes(b"%PDF-1.4 fake")
    photo = tmp_path / "me.png"
    photo.write_bytes(b"\x89PNG fake")
    snap = await open_page(session, site, "/files.html")
    report = await session.act(Upload(element=by_name(snap, "Your CV").id, files=[str(cv)]))
    assert report.ok and report.value == "cv.pdf" and report.value_matches
    assert "Picked cv.pdf" in await page_text(session)
    chooser = await session.act(Upload(element=by_name(snap, "Attach a photo").id, files=[str(photo)]))
    assert chooser.ok and chooser.method == "file chooser"
    assert "Photo me.png" in await page_text(session)
    missing = await session.act(
        Upload(element=by_name(snap, "Your CV").id, files=[str(tmp_path / "nope.pdf")])
    )
    assert missing.error is ActionError.FILE_NOT_FOUND
