"""Key names of the three protocols, as Playwright's keyboard names them.

OpenAI's computer tool sends names like CTRL, ENTER, ARROWDOWN; Anthropic's sends xdotool
chords (ctrl+s, Return, Page_Down, BackSpace, KP_Enter); UI-TARS sends lowercase words split
by spaces (ctrl c, enter, pagedown).
"""

from __future__ import annotations

_NAMES = {
    "ctrl": "Control",
    "control": "Control",
    "control_l": "Control",
    "control_r": "Control",
    "alt": "Alt",
    "alt_l": "Alt",
    "option": "Alt",
    "shift": "Shift",
    "shift_l": "Shift",
    "shift_r": "Shift",
    "cmd": "Meta",
    "command": "Meta",
    "meta": "Meta",
    "super": "Meta",
    "super_l": "Meta",
    "win": "Meta",
    "enter": "Enter",
    "return": "Enter",
    "kp_enter": "Enter",
    "esc": "Escape",
    "escape": "Escape",
    "tab": "Tab",
    "space": " ",
    "backspace": "Backspace",
    "back_space": "Backspace",
    "delete": "Delete",
    "del": "Delete",
    "insert": "Insert",
    "home": "Home",
    "end": "End",
    "pageup": "PageUp",
    "page_up": "PageUp",
    "prior": "PageUp",
    "pagedown": "PageDown",
    "page_down": "PageDown",
    "next": "PageDown",
    "up": "ArrowUp",
    "down": "ArrowDown",
    "left": "ArrowLeft",
    "right": "ArrowRight",
    "arrowup": "ArrowUp",
    "arrowdown": "ArrowDown",
    "arrowleft": "ArrowLeft",
    "arrowright": "ArrowRight",
    "capslock": "CapsLock",
    "caps_lock": "CapsLock",
}
MODIFIERS = frozenset({"Control", "Alt", "Shift", "Meta"})


def key_name(raw: str) -> str:
    """Playwright's name of one key; an unknown multi-letter name raises ValueError."""
    text = raw.strip()
    lowered = text.lower()
    if lowered in _NAMES:
        return _NAMES[lowered]
    if len(text) == 1:
        return text
    if lowered.startswith("f") and lowered[1:].isdigit() and 1 <= int(lowered[1:]) <= 24:
        return lowered.upper()
    raise ValueError(f"unknown key {raw!r}")


def chord(keys: list[str]) -> tuple[str, ...]:
    """A chord's keys, modifiers first (a chord like ["a", "CTRL"] still holds Control)."""
    names = [key_name(k) for k in keys if k.strip()]
    if not names:
        raise ValueError("no keys")
    mods = [n for n in names if n in MODIFIERS]
    rest = [n for n in names if n not in MODIFIERS]
    return tuple(mods + rest)


def modifiers(raw: list[str] | str | None) -> tuple[str, ...]:
    """Held modifiers from a list (OpenAI `keys`) or a chord text (Anthropic `text: "shift"`)."""
    if not raw:
        return ()
    items = raw.split("+") if isinstance(raw, str) else raw
    found = tuple(key_name(k) for k in items if k.strip())
    if any(k not in MODIFIERS for k in found):
        raise ValueError(f"{raw!r} is not a modifier")
    return found
