"""What the log records about an executed action so that it can be done again without a model:
the element it acted on (a selector bundle) and what it was seen to do (an observed effect)."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field


class _Frozen(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class TestId(_Frozen):
    """A test-id attribute (`data-testid`, `data-test`, `data-qa`, ...) and its value."""

    __test__ = False  # not a pytest test class, whatever its name says

    attribute: str
    value: str


class SelectorBundle(_Frozen):
    """Independent ways to find an element again, strongest first.

    `role` and `name` are the element's ARIA role and accessible name; `label` the text of its
    <label>; `name_attr` its `name` attribute; `text` its visible text. `css` is a path inside the
    element's own tree (the document or a shadow root); `shadow_hosts` are the CSS paths of the
    shadow hosts around it (outermost first, each inside the previous host's root) and `frames`
    those of the <iframe> elements around it (outermost first). `closed_shadow` says a closed
    shadow root is in the way, which no selector can cross.
    """

    role: str | None = None
    name: str | None = None
    label: str | None = None
    test_id: TestId | None = None
    name_attr: str | None = None
    placeholder: str | None = None
    text: str | None = None
    element_id: str | None = None
    tag: str | None = None
    input_type: str | None = None
    css: str | None = None
    shadow_hosts: tuple[str, ...] = ()
    frames: tuple[str, ...] = ()
    closed_shadow: bool = False

    @property
    def empty(self) -> bool:
        return not (
            self.role
            or self.name
            or self.label
            or self.test_id
            or self.name_attr
            or self.placeholder
            or self.text
            or self.element_id
            or self.css
        )


class ObservedEffect(_Frozen):
    """What an action was seen to do: the address before and after, the value the field read
    back (secrets shown as their placeholders), a checkbox's state, a download."""

    action: str | None = None
    url_before: str | None = None
    url_after: str | None = None
    value: str | None = None
    value_matches: bool | None = None
    checked: bool | None = None
    downloads: tuple[str, ...] = ()
    # Keys pressed (screen-driven engines say it only here).
    keys: str | None = None
    # More boxes a verification code was typed into, one character each, after `target`.
    more_targets: tuple[SelectorBundle, ...] = Field(default=())


class TextSource(_Frozen):
    """Where a value of the run's output was read on the final page: the smallest element whose
    text holds it, and that element's whole (normalised) text then."""

    path: tuple[str | int, ...] = ()
    value: str
    target: SelectorBundle
    text: str
