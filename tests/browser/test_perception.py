"""What the model sees: ids, the line format, frames, shadow DOM, overlays, diffs, bundles."""

from __future__ import annotations

from altostratus.adapters.browser import (
    BrowserRuntime,
    BrowserSession,
    Click,
    Element,
    SessionConfig,
    Snapshot,
    TypeText,
)
from tests.support.fixture_site import FixtureSite


def by_name(snapshot: Snapshot, name: str, role: str | None = None) -> Element:
    found = [e for e in snapshot.elements if e.name == name and (role is None or e.role == role)]
    assert len(found) == 1, f"{len(found)} elements named {name!r} in:\n{snapshot.text}"
    return found[0]


async def test_controls_are_listed_with_role_name_value_and_state(
    session: BrowserSession, site: FixtureSite
) -> None:
    # GIVEN the sign-up form
    await session.goto(site.url("/controls.html"))
    # WHEN the page is snapshotted
    snap = await session.snapshot()
    # THEN each control is one line with its role, accessible name and state
    lines = snap.text.splitlines()
    email = by_name(snap, "Email")
    assert f'{email.id} textbox "Email" type=email required' in lines
    assert f'{by_name(snap, "Cannot press").id} button "Cannot press" disabled' in lines
    assert f'{by_name(snap, "Free").id} radio "Free" checked' in lines
    country = by_name(snap, "Country")
    assert country.role == "combobox" and country.value == "Choose…"
    assert "United Kingdom" in country.options
    # a visually hidden checkbox is listed (it is operated through its label)
    assert by_name(snap, "Send me news").role == "checkbox"
    # hidden controls are not
    assert "Invisible" not in snap.text
    assert "csrf" not in snap.text and "token-123" not in snap.text


async def test_password_values_never_appear(session: BrowserSession, site: FixtureSite) -> None:
    await session.goto(site.url("/controls.html"))
    snap = await session.snapshot(full=True)
    password = by_name(snap, "Password")
    assert password.value == "••••••"
    assert "hunter2-initial" not in snap.text
    assert "hunter2-initial" not in snap.model_dump_json()
    assert "hunter2-initial" not in (await session.markdown()).text


async def test_ids_stay_while_the_node_lives_and_nothing_is_written_into_the_page(
    session: BrowserSession, site: FixtureSite
) -> None:
    await session.goto(site.url("/controls.html"))
    html_before = await session.page.evaluate("document.documentElement.outerHTML")
    first = await session.snapshot()
    await session.act(TypeText(element=by_name(first, "Email").id, text="ann@example.com"))
    second = await session.snapshot()
    assert {e.id: e.name for e in first.elements} == {e.id: e.name for e in second.elements}
    # no attribute, no global: the page looks the same to its own scripts
    html_after = await session.page.evaluate("document.documentElement.outerHTML")
    assert html_after == html_before
    # a new document gets new ids: an old id can never hit an element of another page
    await session.goto(site.url("/controls.html"))
    third = await session.snapshot()
    assert not {e.id for e in third.elements} & {e.id for e in first.elements}


async def test_frames_of_every_origin_are_part_of_the_snapshot(
    session: BrowserSession, site: FixtureSite
) -> None:
    # GIVEN a same-origin, a cross-origin and a cross-site (out-of-process) iframe
    await session.goto(site.url("/frames.html"))
    snap = await session.snapshot()
    for title in ("Same origin", "Cross origin", "Cross site"):
        frame = by_name(snap, title, role="iframe")
        inside = [e for e in snap.elements if e.frame == frame.id]
        # THEN each frame's controls are listed under it, with frame-aware selectors
        assert [e.name for e in inside] == ["Name in frame", "Greet"], snap.text
        assert inside[1].selectors.frames and inside[1].bbox.y > frame.bbox.y
        assert inside[1].in_viewport


async def test_open_and_closed_shadow_roots_are_pierced(session: BrowserSession, site: FixtureSite) -> None:
    await session.goto(site.url("/shadow.html"))
    snap = await session.snapshot()
    search = by_name(snap, "Search")
    unlock = by_name(snap, "Unlock vault")
    # the open shadow root is crossed by the bundle's selector: it finds the same button again
    assert search.selectors.shadow_hosts == ("body > search-box",)
    locator = session.page.locator(search.selectors.playwright_selector() or "")
    assert await locator.count() == 1 and await locator.inner_text() == "Search"
    # no selector crosses a closed shadow root, and the bundle says so
    assert unlock.selectors.closed_shadow and unlock.selectors.playwright_selector() is None
    assert by_name(snap, "Remember this device").role == "checkbox"


async def test_dialogs_come_first_and_hide_what_they_cover(
    session: BrowserSession, site: FixtureSite
) -> None:
    await session.goto(site.url("/modal.html"))
    snap = await session.snapshot()
    lines = snap.text.splitlines()
    overlay_line = next(i for i, line in enumerate(lines) if line.startswith("[dialog"))
    assert lines[overlay_line] == '[dialog "Subscribe and save"] modal'
    heading_line = next(i for i, line in enumerate(lines) if line.startswith("# Newsletter"))
    assert overlay_line < heading_line
    # the button under the backdrop is not offered in the viewport view …
    target = by_name(snap, "Read the article")
    assert target.covered and target.id not in snap.text
    # … but the whole-page view still lists it, marked
    full = await session.snapshot(full=True)
    assert f'{target.id} button "Read the article" covered' in full.text


async def test_viewport_detail_and_an_outline_of_the_rest(session: BrowserSession, site: FixtureSite) -> None:
    await session.goto(site.url("/infinite.html"))
    snap = await session.snapshot()
    below = [line for line in snap.text.splitlines() if line.startswith("Below")]
    assert below and "links" in below[0]
    in_view = [e for e in snap.elements if e.in_viewport]
    assert 0 < len(in_view) < len(snap.elements)
    full = await session.snapshot(full=True)
    assert all(e.id in full.text for e in full.elements)
    assert not any(line.startswith("Below") for line in full.text.splitlines())


async def test_a_second_snapshot_of_the_same_page_comes_with_a_diff(
    session: BrowserSession, site: FixtureSite
) -> None:
    await session.goto(site.url("/controls.html"))
    first = await session.snapshot()
    assert first.diff is None
    await session.act(TypeText(element=by_name(first, "Email").id, text="bo@example.com"))
    await session.act(Click(element=by_name(first, "Count").id))
    second = await session.snapshot()
    assert second.diff is not None
    email = by_name(second, "Email")
    assert f'~ {email.id} textbox "Email" value="bo@example.com"' in second.diff.text
    assert second.diff.text_changed and "(page text changed)" in second.diff.text
    assert second.diff.changed == (email.id,)
    assert second.fingerprint != first.fingerprint


async def test_selector_bundles_name_each_element_several_ways(
    session: BrowserSession, site: FixtureSite
) -> None:
    await session.goto(site.url("/controls.html"))
    snap = await session.snapshot()
    bundle = by_name(snap, "Email").selectors
    assert bundle.role == "textbox" and bundle.name == "Email" and bundle.label == "Email"
    assert bundle.element_id == "email" and bundle.name_attr == "email"
    assert bundle.placeholder == "you@example.com" and bundle.css == "#email"
    # the CSS path finds exactly that element again
    assert await session.page.locator(bundle.playwright_selector() or "").count() == 1


async def test_json_view_has_the_documented_fields(session: BrowserSession, site: FixtureSite) -> None:
    await session.goto(site.url("/controls.html"))
    data = (await session.snapshot()).public()
    assert set(data) == {"text", "elements", "tokens", "ms"}
    assert data["tokens"] > 0
    element = data["elements"][0]
    assert set(element) == {"id", "role", "name", "tag", "bbox", "in_viewport", "frame", "selectors"}


async def test_the_accessibility_tree_mode_lists_the_same_controls(
    runtime: BrowserRuntime, site: FixtureSite
) -> None:
    session = await runtime.new_session(SessionConfig(perception="ax"))
    try:
        await session.goto(site.url("/controls.html"))
        snap = await session.snapshot()
        assert by_name(snap, "Email").role == "textbox"
        assert by_name(snap, "Country").role == "combobox"
        assert by_name(snap, "Send me news").role == "checkbox"
        assert by_name(snap, "Cannot press").states == ("disabled",)
    finally:
        await session.close()
