"""JavaScript we run in our isolated world (see `isolated.py`); page content is only read.

The functions live in ``js/*.js``. They are called with `this` bound to an element
(`Runtime.callFunctionOn`) or evaluated with arguments (`IsolatedWorlds.evaluate`); coordinates
are CSS pixels of the element's own frame. ``//@helpers`` pulls in ``js/_helpers.js``,
``//@bundle`` ``js/_bundle.js`` (selector bundles computed in the page).
"""

from __future__ import annotations

from importlib import resources

_JS = resources.files("altostratus.adapters.browser") / "js"


def _load(name: str) -> str:
    source = (_JS / f"{name}.js").read_text(encoding="utf-8")
    if "//@helpers" in source:
        source = source.replace("//@helpers", (_JS / "_helpers.js").read_text(encoding="utf-8"))
    if "//@bundle" in source:
        source = source.replace("//@bundle", (_JS / "_bundle.js").read_text(encoding="utf-8"))
    return source.strip()


def with_bundle(source: str) -> str:
    """`source` with ``//@bundle`` replaced by the in-page selector-bundle helpers."""
    return source.replace("//@bundle", (_JS / "_bundle.js").read_text(encoding="utf-8"))


ACTIVE_FIELD = _load("active_field")
CHOOSE_NATIVE_OPTION = _load("choose_native_option")
DOM_CLICK = _load("dom_click")
DOM_SETTLE = _load("dom_settle")
EDIT_INFO = _load("edit_info")
FIND_TEXT = _load("find_text")
FIND_VALUES = _load("find_values")
FOCUSED_BUNDLE = _load("focused_bundle")
FOCUS_AND_SELECT = _load("focus_and_select")
INNER_FIELD = _load("inner_field")
NATIVE_OPTIONS = _load("native_options")
PAGE_METRICS = _load("page_metrics")
PROBE = _load("probe")
READ_STATE = _load("read_state")
READ_TARGET = _load("read_target")
SCROLL = _load("scroll")
SET_VALUE = _load("set_value")
WAIT_VISIBLE = _load("wait_visible")
