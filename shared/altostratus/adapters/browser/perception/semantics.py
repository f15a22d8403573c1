"""Roles, accessible names and states of elements, as the HTML-AAM and ARIA specs define them.

The DOM snapshot has tags, attributes and form state but no roles or names; this module
infers them the way Chromium's accessibility tree does for the cases agents meet (native
controls, ARIA widgets, labels, aria-labelledby, alt text). In "ax" perception mode the real
accessibility tree overrides what is inferred here.
"""

from __future__ import annotations

from typing import Any

# Roles a user operates; the line format lists every visible element with one of these.
INTERACTIVE_ROLES = frozenset(
    {
        "button",
        "link",
        "textbox",
        "searchbox",
        "checkbox",
        "radio",
        "combobox",
        "listbox",
        "option",
        "menuitem",
        "menuitemcheckbox",
        "menuitemradio",
        "tab",
        "switch",
        "slider",
        "spinbutton",
        "treeitem",
        "scrollbar",
        "gridcell",
    }
)
# Roles whose name comes from their content (ARIA "name from content").
NAME_FROM_CONTENT = frozenset(
    {
        "button",
        "link",
        "heading",
        "option",
        "menuitem",
        "menuitemcheckbox",
        "menuitemradio",
        "tab",
        "checkbox",
        "radio",
        "switch",
        "treeitem",
        "gridcell",
        "cell",
        "columnheader",
        "rowheader",
        "tooltip",
        "clickable",
    }
)
LANDMARK_ROLES = frozenset(
    {"banner", "navigation", "main", "complementary", "contentinfo", "search", "form", "region"}
)
DIALOG_ROLES = frozenset({"dialog", "alertdialog"})
# Roles a listbox-like popup uses for its choices.
OPTION_ROLES = frozenset({"option", "menuitem", "menuitemradio", "menuitemcheckbox", "treeitem", "gridcell"})
KNOWN_ROLES = (
    INTERACTIVE_ROLES
    | LANDMARK_ROLES
    | DIALOG_ROLES
    | frozenset(
        {
            "heading",
            "img",
            "list",
            "listitem",
            "menu",
            "menubar",
            "tablist",
            "tabpanel",
            "tree",
            "grid",
            "table",
            "row",
            "cell",
            "columnheader",
            "rowheader",
            "group",
            "radiogroup",
            "toolbar",
            "tooltip",
            "alert",
            "status",
            "log",
            "progressbar",
            "separator",
            "article",
            "none",
            "presentation",
            "generic",
        }
    )
)
_TEXT_INPUT_TYPES = frozenset({"", "text", "email", "tel", "url", "password"})
_BUTTON_INPUT_TYPES = frozenset({"button", "submit", "reset", "image"})
# Input types worth telling the model about (how to type into them differs).
HINTED_INPUT_TYPES = frozenset(
    {
        "date",
        "time",
        "datetime-local",
        "month",
        "week",
        "email",
        "tel",
        "url",
        "number",
        "password",
        "file",
        "color",
    }
)
_HEADINGS = {"h1": 1, "h2": 2, "h3": 3, "h4": 4, "h5": 5, "h6": 6}
# Chromium accessibility role names that differ from ARIA's.
_AX_ROLE_ALIASES = {
    "DisclosureTriangle": "button",
    "PopUpButton": "combobox",
    "ToggleButton": "button",
    "MenuListPopup": "listbox",
    "MenuListOption": "option",
    "Date": "textbox",
    "DateTime": "textbox",
    "InputTime": "textbox",
    "ColorWell": "button",
    "LabelText": "label",
    "StaticText": "text",
    "RootWebArea": "document",
    "Iframe": "iframe",
    "IframePresentational": "iframe",
    "Section": "region",
    "SectionWithoutName": "generic",
}


def explicit_role(attrs: dict[str, str]) -> str | None:
    """The first known role in the `role` attribute (ARIA allows a fallback list)."""
    raw = attrs.get("role")
    if not raw:
        return None
    for token in raw.lower().split():
        if token in KNOWN_ROLES:
            return token
    return None


def implicit_role(tag: str, attrs: dict[str, str], *, in_section: bool = False) -> str | None:
    """The role HTML gives an element without a `role` attribute (HTML-AAM)."""
    if tag == "a" or tag == "area":
        return "link" if "href" in attrs else None
    if tag == "button":
        return "button"
    if tag == "input":
        kind = attrs.get("type", "").lower()
        if kind == "hidden":
            return None
        if kind in _BUTTON_INPUT_TYPES or kind in {"file", "color"}:
            return "button"
        if kind == "checkbox":
            return "checkbox"
        if kind == "radio":
            return "radio"
        if kind == "range":
            return "slider"
        if kind == "number":
            return "spinbutton"
        if "list" in attrs and kind in _TEXT_INPUT_TYPES | {"search"}:
            return "combobox"
        if kind == "search":
            return "searchbox"
        return "textbox"
    if tag == "select":
        multiple = "multiple" in attrs
        size = attrs.get("size", "")
        return "listbox" if multiple or (size.isdigit() and int(size) > 1) else "combobox"
    if tag == "textarea":
        return "textbox"
    if tag == "option":
        return "option"
    if tag == "summary":
        return "button"
    if tag in _HEADINGS:
        return "heading"
    if tag == "nav":
        return "navigation"
    if tag == "main":
        return "main"
    if tag == "aside":
        return "complementary"
    if tag == "header":
        return None if in_section else "banner"
    if tag == "footer":
        return None if in_section else "contentinfo"
    if tag == "search":
        return "search"
    if tag == "dialog":
        return "dialog"
    if tag == "form":
        return "form" if ("aria-label" in attrs or "aria-labelledby" in attrs) else None
    if tag == "section":
        return "region" if ("aria-label" in attrs or "aria-labelledby" in attrs) else None
    if tag == "img":
        return "img" if attrs.get("alt") != "" else None
    return None


def heading_level(tag: str, attrs: dict[str, str]) -> int:
    level = attrs.get("aria-level", "")
    if level.isdigit():
        return max(1, min(6, int(level)))
    return _HEADINGS.get(tag, 2)


def input_button_name(attrs: dict[str, str]) -> str:
    """The label of <input type=submit|reset|button|image>."""
    kind = attrs.get("type", "").lower()
    if kind == "image":
        return attrs.get("alt", "") or attrs.get("value", "") or "Submit"
    if "value" in attrs:
        return attrs["value"]
    return {"submit": "Submit", "reset": "Reset"}.get(kind, "")


def is_editable(attrs: dict[str, str]) -> bool:
    value = attrs.get("contenteditable")
    return value is not None and value.lower() in {"", "true", "plaintext-only"}


def truthy_aria(attrs: dict[str, str], name: str) -> bool:
    return attrs.get(name, "").lower() == "true"


def undouble(text: str) -> str:
    """ "Login Login" -> "Login": an icon's alt text and a label often say the same thing."""
    words = text.split()
    for times in (3, 2):
        if len(words) >= times and len(words) % times == 0:
            size = len(words) // times
            if all(words[k * size : (k + 1) * size] == words[:size] for k in range(1, times)):
                return " ".join(words[:size])
    return text


def clean(text: str, limit: int = 100) -> str:
    """Collapse whitespace and cut to `limit` characters with an ellipsis."""
    collapsed = " ".join(text.split())
    if len(collapsed) > limit:
        return collapsed[: limit - 1].rstrip() + "…"
    return collapsed


def ax_role(node: dict[str, Any]) -> str:
    """An accessibility node's role in ARIA's vocabulary (Chromium uses a few of its own)."""
    role = str((node.get("role") or {}).get("value") or "")
    return _AX_ROLE_ALIASES.get(role, role)


def ax_name(node: dict[str, Any]) -> str:
    return str((node.get("name") or {}).get("value") or "")


def ax_properties(node: dict[str, Any]) -> dict[str, Any]:
    props: dict[str, Any] = {}
    for prop in node.get("properties") or []:
        props[prop.get("name", "")] = (prop.get("value") or {}).get("value")
    return props
