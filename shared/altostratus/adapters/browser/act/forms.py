"""Typing, selecting, checking and uploading — each read back from the page afterwards."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from playwright.async_api import Error as PlaywrightError
from playwright.async_api import TimeoutError as PlaywrightTimeoutError

from altostratus.adapters.browser.act.base import ActContext, ActionFailed, ActionOutcome
from altostratus.adapters.browser.act.matching import best_option
from altostratus.adapters.browser.act.pointer import click
from altostratus.adapters.browser.act.resolve import Resolved, frame_origin, probe, resolve
from altostratus.adapters.browser.actions import Check, Click, Select, TypeText, Upload
from altostratus.adapters.browser.effects import ActionError
from altostratus.adapters.browser.isolated import ScriptError
from altostratus.adapters.browser.perception.fields import MASKED
from altostratus.adapters.browser.perception.semantics import OPTION_ROLES
from altostratus.adapters.browser.scripts import (
    ACTIVE_FIELD,
    CHOOSE_NATIVE_OPTION,
    DOM_CLICK,
    EDIT_INFO,
    FOCUS_AND_SELECT,
    INNER_FIELD,
    NATIVE_OPTIONS,
    READ_STATE,
    SET_VALUE,
)
from altostratus.adapters.browser.settle import Mark

# These take a value, not keystrokes: their typed format depends on the locale.
_VALUE_TYPES = frozenset({"date", "time", "datetime-local", "month", "week", "color", "range"})
_CHECKABLE_ROLES = frozenset({"checkbox", "radio", "switch", "menuitemcheckbox", "menuitemradio"})
_TYPE_LIMIT = 200  # longer text is inserted at once instead of key by key


async def _settle(ctx: ActContext, resolved: Resolved, mark: Mark) -> None:
    """Wait for what a step of the action (since `mark`) set off, at most 1.5 s."""
    await ctx.settle(resolved.tab, mark, cap_ms=1_500)


async def _read(ctx: ActContext, resolved: Resolved, expected: str = "", compare: str = "") -> dict[str, Any]:
    return dict(await resolved.call(ctx, READ_STATE, expected, compare) or {})


def _shown_value(state: dict[str, Any]) -> str | None:
    if state.get("masked"):
        return MASKED if state.get("length") else ""
    value = state.get("value")
    return None if value is None else str(value)


async def type_text(ctx: ActContext, action: TypeText) -> ActionOutcome:
    resolved = await resolve(ctx, action.element)
    notes = [resolved.note] if resolved.note else []
    info = await resolved.call(ctx, EDIT_INFO)
    if not info.get("editable"):
        inner = await ctx.worlds.call_for_node(resolved.target, resolved.object_id, INNER_FIELD)
        if inner is None:
            raise ActionFailed(ActionError.NOT_EDITABLE, f"{resolved.element_id} is not a text field")
        resolved = Resolved(resolved.element_id, resolved.element, resolved.tab, resolved.target, inner)
        info = await resolved.call(ctx, EDIT_INFO)
    if info.get("disabled"):
        raise ActionFailed(ActionError.DISABLED, f"{resolved.element_id} is disabled")
    if info.get("readonly"):
        raise ActionFailed(ActionError.NOT_EDITABLE, f"{resolved.element_id} is read-only")
    page = resolved.tab.page
    text = action.text
    if info.get("tag") == "input":
        text = " ".join(text.splitlines())
    if info.get("type") in _VALUE_TYPES:
        await resolved.call(ctx, SET_VALUE, text)
        notes.append(f"Set the {info['type']} value directly (typing its format depends on the locale).")
        method = "value"
    else:
        state = await probe(ctx, resolved)
        origin = await frame_origin(ctx, resolved)
        if state.get("point") and origin is not None:
            await page.mouse.click(state["point"]["x"] + origin[0], state["point"]["y"] + origin[1])
        await resolved.call(ctx, FOCUS_AND_SELECT, action.clear)
        if action.clear:
            current = await _read(ctx, resolved)
            if current.get("value") or current.get("length"):
                # select() is not available on every input type; the keyboard always is.
                await page.keyboard.press("ControlOrMeta+a")
                await page.keyboard.press("Delete")
        if len(text) <= _TYPE_LIMIT:
            await page.keyboard.type(text)
            method = "keyboard"
        else:
            await page.keyboard.insert_text(text)
            method = "insert"
    back = await _read(ctx, resolved, text, "exact" if action.clear else "suffix")
    value = _shown_value(back)
    matches = back.get("matches")
    outcome = ActionOutcome(method=method, notes=notes, value=value, value_matches=matches)
    if action.submit:
        await page.keyboard.press("Enter")
    if matches is False:
        outcome.ok = False
        outcome.error = ActionError.VALUE_MISMATCH
        shown = "(masked)" if back.get("masked") else repr(value)
        outcome.detail = (
            f"the field reads {shown} after typing (a mask, a length limit or a script changed it)"
        )
    return outcome


async def select(ctx: ActContext, action: Select) -> ActionOutcome:
    resolved = await resolve(ctx, action.element)
    if resolved.element.tag == "select":
        return await _select_native(ctx, resolved, action)
    return await _select_custom(ctx, resolved, action)


async def _select_native(ctx: ActContext, resolved: Resolved, action: Select) -> ActionOutcome:
    options: list[dict[str, Any]] = await resolved.call(ctx, NATIVE_OPTIONS)
    usable = [o for o in options if not o.get("disabled")]
    index = best_option(action.option, [(o["text"], o["value"]) for o in usable])
    if index is None:
        listed = ", ".join(repr(o["text"]) for o in usable[:15])
        raise ActionFailed(
            ActionError.OPTION_NOT_FOUND, f"no option like {action.option!r}; options: {listed}"
        )
    chosen = usable[index]
    label = await resolved.call(ctx, CHOOSE_NATIVE_OPTION, chosen["index"])
    back = await _read(ctx, resolved)
    value = _shown_value(back)
    return ActionOutcome(method="native select", value=value, value_matches=value == label, notes=[])


async def _select_custom(ctx: ActContext, resolved: Resolved, action: Select) -> ActionOutcome:
    """Open the widget, find its options (typing to filter when it has a search box), click one."""
    tab = resolved.tab
    notes = [resolved.note] if resolved.note else []
    before = {e.id for e in (await ctx.perceiver.model(tab.targets)).elements}
    if resolved.element.role not in ("listbox",) and "expanded" not in resolved.element.states:
        mark = await ctx.mark(tab)
        await click(ctx, Click(element=resolved.element_id))
        await _settle(ctx, resolved, mark)
    options = await _visible_options(ctx, resolved, before)
    if not options or best_option(action.option, [(o.name, o.name) for o in options]) is None:
        field = await ctx.worlds.call_for_node(resolved.target, resolved.object_id, ACTIVE_FIELD)
        if field is not None:
            # A searchable dropdown (Select2, comboboxes with autocomplete): filter by typing.
            typed = Resolved(resolved.element_id, resolved.element, tab, resolved.target, field)
            await typed.call(ctx, FOCUS_AND_SELECT, True)
            mark = await ctx.mark(tab)
            await tab.page.keyboard.type(action.option)
            await _settle(ctx, resolved, mark)
            notes.append(f"Typed {action.option!r} into its search box to filter the options.")
            options = await _visible_options(ctx, resolved, before)
    index = best_option(action.option, [(o.name, o.name) for o in options])
    if index is None:
        listed = ", ".join(repr(o.name) for o in options[:15]) or "none appeared"
        raise ActionFailed(
            ActionError.OPTION_NOT_FOUND,
            f"no option like {action.option!r} in {resolved.element_id}; options: {listed}",
        )
    chosen = options[index]
    mark = await ctx.mark(tab)
    outcome = await click(ctx, Click(element=chosen.id))
    await _settle(ctx, resolved, mark)
    notes.append(f'Chose option {chosen.id} "{chosen.name}".')
    value: str | None = chosen.name
    try:
        back = await _read(ctx, resolved)
        value = _shown_value(back) or value
    except ActionFailed:
        pass  # the widget re-rendered itself; the option's text is what was chosen
    matches = best_option(chosen.name, [(value or "", value or "")]) is not None
    return ActionOutcome(
        method=f"custom listbox ({outcome.method})", notes=notes, value=value, value_matches=matches
    )


async def _visible_options(ctx: ActContext, resolved: Resolved, before: set[str]) -> list[Any]:
    model = await ctx.perceiver.model(resolved.tab.targets)
    options = [e for e in model.elements if e.role in OPTION_ROLES and "disabled" not in e.states]
    fresh = [e for e in options if e.id not in before]
    return fresh or options


async def check(ctx: ActContext, action: Check) -> ActionOutcome:
    resolved = await resolve(ctx, action.element)
    element = resolved.element
    state = await _read(ctx, resolved)
    if element.role not in _CHECKABLE_ROLES and "checked" not in state:
        raise ActionFailed(
            ActionError.NOT_CHECKABLE, f"{resolved.element_id} is a {element.role}, not a checkbox"
        )
    current = bool(state.get("checked"))
    if current == action.checked:
        word = "checked" if current else "unchecked"
        return ActionOutcome(
            checked=current, notes=[f"It was already {word}; left as it is."], method="none needed"
        )
    if not action.checked and element.role in ("radio", "menuitemradio"):
        raise ActionFailed(
            ActionError.NOT_CHECKABLE, "a radio button cannot be unchecked; choose another option"
        )
    mark = await ctx.mark(resolved.tab)
    outcome = await click(ctx, Click(element=resolved.element_id))
    await _settle(ctx, resolved, mark)
    state = await _read(ctx, resolved)
    if bool(state.get("checked")) != action.checked:
        mark = await ctx.mark(resolved.tab)
        await resolved.call(ctx, DOM_CLICK)
        await _settle(ctx, resolved, mark)
        state = await _read(ctx, resolved)
        outcome.notes.append("The click did not toggle it; toggled it through the DOM.")
        outcome.method = "dom"
    now = bool(state.get("checked"))
    outcome.checked = now
    if now != action.checked:
        outcome.ok = False
        outcome.error = ActionError.NOT_CHECKABLE
        outcome.detail = f"{resolved.element_id} stays {'checked' if now else 'unchecked'} after clicking it"
    return outcome


async def upload(ctx: ActContext, action: Upload) -> ActionOutcome:
    paths = [Path(f).expanduser().resolve() for f in action.files]
    missing = [str(p) for p in paths if not p.is_file()]
    if missing:
        raise ActionFailed(ActionError.FILE_NOT_FOUND, f"no such file: {', '.join(missing)}")
    resolved = await resolve(ctx, action.element)
    info = await resolved.call(ctx, EDIT_INFO)
    mark = await ctx.mark(resolved.tab)
    if len(paths) > 1 and info.get("file") and not info.get("multiple"):
        raise ActionFailed(
            ActionError.INVALID_ACTION, f"{resolved.element_id} takes one file, {len(paths)} given"
        )
    if info.get("file"):
        try:
            await resolved.target.cdp.send(
                "DOM.setFileInputFiles", {"files": [str(p) for p in paths], "objectId": resolved.object_id}
            )
        except PlaywrightError as exc:
            raise ActionFailed(
                ActionError.NOT_A_FILE_INPUT, f"could not attach the files: {exc.message}"
            ) from exc
        method = "file input"
        reader = resolved
    else:
        page = resolved.tab.page
        try:
            async with page.expect_file_chooser(timeout=ctx.config.action_timeout_ms) as chooser_info:
                await click(ctx, Click(element=resolved.element_id))
            chooser = await chooser_info.value
        except PlaywrightTimeoutError as exc:
            raise ActionFailed(
                ActionError.NOT_A_FILE_INPUT,
                f"{resolved.element_id} is not a file input and opened no file chooser",
            ) from exc
        await chooser.set_files(paths)
        method = "file chooser"
        reader = resolved
    await _settle(ctx, resolved, mark)
    names: list[str] = []
    try:
        state = await _read(ctx, reader)
        names = list(state.get("files") or [])
    except (ActionFailed, ScriptError):
        pass
    wanted = [p.name for p in paths]
    return ActionOutcome(
        method=method,
        value=", ".join(names) if names else None,
        value_matches=(names == wanted) if names else None,
        notes=[f"Attached {', '.join(wanted)}."],
    )
