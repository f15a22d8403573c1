"""Finding a recorded element among the page's current ones: the strongest entry matching
exactly one visible, enabled element; the CSS path only separates candidates."""

from __future__ import annotations

from altostratus.domain.replay.matching import Candidate, choose
from altostratus.domain.replay.targets import SelectorBundle, TestId

NEXT = SelectorBundle(role="button", name="Next", text="Next", tag="button", css="form > button")


def test_the_first_entry_matching_exactly_one_element_wins() -> None:
    page = [
        Candidate(SelectorBundle(role="textbox", name="Email", label="Email", css="form > input")),
        Candidate(SelectorBundle(role="button", name="Next", text="Next", css="form > button")),
    ]
    match = choose(NEXT, page)
    assert (match.index, match.matched_by) == (1, "role+name")


def test_a_renamed_button_is_not_clicked_because_it_sits_where_the_old_one_did() -> None:
    page = [Candidate(SelectorBundle(role="button", name="Continue", text="Continue", css="form > button"))]
    match = choose(NEXT, page)
    assert match.index is None and match.reason == 'button "Next" is not on the page'


def test_the_css_path_separates_two_elements_with_the_same_name() -> None:
    page = [
        Candidate(SelectorBundle(role="button", name="Next", css="header > button")),
        Candidate(SelectorBundle(role="button", name="Next", css="form > button")),
    ]
    match = choose(NEXT, page)
    assert (match.index, match.matched_by) == (1, "role+name+css")


def test_a_test_id_comes_first_and_a_disabled_element_is_not_chosen() -> None:
    target = SelectorBundle(role="button", name="Pay", test_id=TestId(attribute="data-testid", value="pay"))
    page = [
        Candidate(SelectorBundle(role="button", name="Pay", css="a"), enabled=True),
        Candidate(SelectorBundle(role="button", name="Pay now", test_id=target.test_id, css="b")),
    ]
    assert choose(target, page).matched_by == "test_id"
    disabled = [Candidate(SelectorBundle(role="button", name="Pay"), enabled=False)]
    assert choose(SelectorBundle(role="button", name="Pay"), disabled).reason == (
        'button "Pay" is on the page but disabled'
    )


def test_an_element_with_nothing_but_a_css_path_is_found_by_it() -> None:
    target = SelectorBundle(tag="div", css="main > div:nth-of-type(2)")
    page = [Candidate(SelectorBundle(css="main > div:nth-of-type(1)")), Candidate(target)]
    assert choose(target, page).matched_by == "css"


def test_a_field_whose_label_changed_is_still_found_by_its_name_attribute() -> None:
    target = SelectorBundle(role="textbox", name="Email", label="Email", name_attr="email", tag="input")
    page = [Candidate(SelectorBundle(role="textbox", name="E-mail address", name_attr="email", tag="input"))]
    assert choose(target, page).matched_by == "name"
