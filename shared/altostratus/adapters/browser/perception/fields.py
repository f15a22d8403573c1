"""Per-node context of the builder's pass, and what it yields per element: name, value, states.

Names follow the accessible-name order for the cases agents meet: aria-labelledby, aria-label,
the <label> of a form control, alt, text content for roles named from content, then title and
placeholder. Password values are never read: a filled password field shows as "••••••".
"""

from __future__ import annotations

from dataclasses import dataclass, field

from altostratus.adapters.browser.perception.dom import ELEMENT_NODE, OPACITY, VISIBILITY, DocView
from altostratus.adapters.browser.perception.semantics import (
    HINTED_INPUT_TYPES,
    NAME_FROM_CONTENT,
    clean,
    input_button_name,
    truthy_aria,
    undouble,
)

MASKED = "••••••"
_FORM_TAGS = frozenset({"input", "select", "textarea", "button"})
_TEXTLIKE = frozenset({"textbox", "searchbox", "combobox", "spinbutton"})
_CHECKABLE = frozenset({"checkbox", "radio", "switch", "menuitemcheckbox", "menuitemradio"})
_OPTION_LIMIT = 8


@dataclass
class NodeContext:
    """Parallel arrays filled by the pass; each node starts with its parent's context."""

    attrs: list[dict[str, str] | None]
    role: list[str]
    owner: list[int]
    block: list[int]
    cand_anc: list[int]
    strong_anc: list[int]
    label_anc: list[int]
    landmark: list[int]
    overlay: list[int]
    pointer: list[bool]
    editable: list[bool]
    section: list[bool]
    fieldset_disabled: list[bool]
    faded: list[bool]
    visible: list[bool]
    candidate: list[int]
    has_candidate_below: list[bool]
    overlay_kind: dict[int, str] = field(default_factory=dict)
    overlay_label_node: dict[int, int] = field(default_factory=dict)
    block_text: dict[int, list[str]] = field(default_factory=dict)
    block_first: dict[int, int] = field(default_factory=dict)
    labels_for: dict[str, list[int]] = field(default_factory=dict)
    id_counts: dict[str, int] = field(default_factory=dict)

    @classmethod
    def empty(cls, n: int) -> NodeContext:
        return cls(
            attrs=[None] * n,
            role=[""] * n,
            owner=[-1] * n,
            block=[-1] * n,
            cand_anc=[-1] * n,
            strong_anc=[-1] * n,
            label_anc=[-1] * n,
            landmark=[-1] * n,
            overlay=[-1] * n,
            pointer=[False] * n,
            editable=[False] * n,
            section=[False] * n,
            fieldset_disabled=[False] * n,
            faded=[False] * n,
            visible=[False] * n,
            candidate=[0] * n,
            has_candidate_below=[False] * n,
        )

    def inherit(self, i: int, p: int) -> None:
        self.owner[i] = self.owner[p]
        self.block[i] = self.block[p]
        self.cand_anc[i] = self.cand_anc[p]
        self.strong_anc[i] = self.strong_anc[p]
        self.label_anc[i] = self.label_anc[p]
        self.landmark[i] = self.landmark[p]
        self.overlay[i] = self.overlay[p]
        self.pointer[i] = self.pointer[p]
        self.editable[i] = self.editable[p]
        self.section[i] = self.section[p]
        self.fieldset_disabled[i] = self.fieldset_disabled[p]
        self.faded[i] = self.faded[p]


class Fields:
    """Names, values and states of the candidates of one document."""

    def __init__(self, doc: DocView, ctx: NodeContext) -> None:
        self.doc = doc
        self.ctx = ctx
        self._text: dict[int, list[str]] = {}
        self._labels: dict[int, list[int]] = {}
        self._proxies: set[int] = set()
        self._names: dict[int, str] = {}
        self._ax_names: dict[int, str] = {}

    # -- during the pass --

    def add_text(self, owner: int, text: str) -> None:
        parts = self._text.get(owner)
        if parts is None:
            self._text[owner] = [text]
        elif len(parts) < 64:
            parts.append(text)

    def set_ax_name(self, node: int, name: str) -> None:
        if name.strip():
            self._ax_names[node] = name

    def finish(self) -> None:
        """After the pass: mark containers of candidates, link labels to their controls."""
        ctx = self.ctx
        parent = self.doc.parent
        below = ctx.has_candidate_below
        for node, kind in enumerate(ctx.candidate):
            if not kind:
                continue
            up = parent[node]
            while up >= 0 and not below[up]:
                below[up] = True
                up = parent[up]
            if kind == 2 and self.doc.tag(node) in _FORM_TAGS:
                labels = list(ctx.labels_for.get((ctx.attrs[node] or {}).get("id", ""), []))
                if ctx.label_anc[node] >= 0:
                    labels.append(ctx.label_anc[node])
                if labels:
                    self._labels[node] = labels
                    self._proxies.update(labels)

    # -- per element --

    def owned_text(self, node: int) -> str:
        return " ".join(" ".join(self._text.get(node, ())).split())

    def release_text(self, node: int, ctx: NodeContext) -> None:
        """A dropped weak candidate gives its text back to the surrounding block."""
        text = self._text.pop(node, None)
        if not text:
            return
        block = ctx.block[node]
        ctx.block_text.setdefault(block, []).extend(text)

    def is_label_proxy(self, node: int) -> bool:
        """A label (or a clickable part of one) whose form control is listed in its place."""
        return node in self._proxies or self.ctx.label_anc[node] in self._proxies

    def visible_layout(self, node: int) -> int | None:
        """The layout index that shows this element, or None when nothing of it is visible.

        A visually hidden checkbox or radio (a common way to style them) is shown with the box
        of its label, since clicking the label operates it.
        """
        doc = self.doc
        ctx = self.ctx
        li = doc.layout_of.get(node)
        tag = doc.tag(node)
        # Visually hidden (1px, clipped, transparent): only a checkbox or radio is still operable,
        # through its label; a hidden <select> behind a custom widget is not for the user.
        tiny = li is not None and self.doc.bounds[li][2] * self.doc.bounds[li][3] < 4
        attrs = ctx.attrs[node] or {}
        toggle = tag == "input" and attrs.get("type", "").lower() in ("checkbox", "radio")
        if tag in _FORM_TAGS and truthy_aria(attrs, "aria-hidden") and not toggle:
            return None  # a native control kept in sync behind a custom widget (Select2 does this)
        shown = li is not None and ctx.visible[node] and not tiny and not (ctx.faded[node] and toggle)
        if shown and (not ctx.faded[node] or tag in _FORM_TAGS):
            return li
        if toggle and node in self._labels:
            for label in self._labels[node]:
                label_layout = doc.layout_of.get(label)
                if label_layout is not None and self._shown(label_layout) and not ctx.faded[label]:
                    return label_layout
        return None

    def _shown(self, layout: int) -> bool:
        _x, _y, w, h = self.doc.bounds[layout][:4]
        try:
            opaque = float(self.doc.style(layout, OPACITY) or 1) > 0
        except ValueError:
            opaque = True
        return w > 0 and h > 0 and opaque and self.doc.style(layout, VISIBILITY) in ("visible", "")

    def label_text(self, node: int) -> str:
        labels = self._labels.get(node)
        if not labels:
            return ""
        return clean(" ".join(self.owned_text(label) for label in labels), 100)

    def _text_of_ids(self, ids: str) -> str:
        parts = []
        for ref in ids.split():
            target = self.doc.node_with_id(ref)
            if target is not None:
                parts.append(self.owned_text(target) or self.doc.text_content(target, 200))
        return " ".join(parts)

    def name_of(self, node: int, role: str) -> str:
        cached = self._names.get(node)
        if cached is not None:
            return cached
        if node in self._ax_names:
            self._names[node] = clean(self._ax_names[node], 100)
            return self._names[node]
        attrs = self.ctx.attrs[node] or {}
        tag = self.doc.tag(node)
        name = ""
        if attrs.get("aria-labelledby"):
            name = self._text_of_ids(attrs["aria-labelledby"])
        if not name.strip():
            name = attrs.get("aria-label", "")
        if not name.strip() and tag in _FORM_TAGS and tag != "button":
            kind = attrs.get("type", "").lower()
            if tag == "input" and kind in ("submit", "reset", "button", "image"):
                name = input_button_name(attrs)
            else:
                name = self.label_text(node)
        if not name.strip() and tag in ("img", "area"):
            name = attrs.get("alt", "")
        if not name.strip() and (role in NAME_FROM_CONTENT or tag == "button"):
            name = self.owned_text(node)
        if not name.strip():
            name = attrs.get("title", "") or attrs.get("placeholder", "") or attrs.get("aria-placeholder", "")
        result = clean(undouble(" ".join(name.split())), 100)
        self._names[node] = result
        return result

    def value_of(self, node: int, role: str) -> str | None:
        doc = self.doc
        attrs = self.ctx.attrs[node] or {}
        tag = doc.tag(node)
        if tag == "input":
            kind = attrs.get("type", "").lower()
            if kind in ("checkbox", "radio", "submit", "reset", "button", "image", "hidden"):
                return None
            raw = doc.input_value.get(node, attrs.get("value", ""))
            if kind == "password":
                return MASKED if raw else ""
            if kind == "file":
                return raw.replace("\\", "/").rsplit("/", 1)[-1]
            return clean(raw, 100)
        if tag == "textarea":
            return clean(
                doc.input_value.get(node) or doc.text_value.get(node) or self.doc.text_content(node), 100
            )
        if tag == "select":
            chosen = [text for text, selected in self._options(node) if selected]
            return clean(", ".join(chosen), 100)
        if role in ("slider", "spinbutton", "scrollbar", "progressbar") and (
            "aria-valuetext" in attrs or "aria-valuenow" in attrs
        ):
            return attrs.get("aria-valuetext") or attrs.get("aria-valuenow")
        if role in _TEXTLIKE or self.ctx.editable[node]:
            content = self.owned_text(node)
            name = self.name_of(node, role)
            if content and content != name:
                return clean(content, 100)
            return "" if role in ("textbox", "searchbox") else None
        return None

    def _options(self, select: int) -> list[tuple[str, bool]]:
        doc = self.doc
        found: list[tuple[str, bool]] = []
        stack = list(reversed(doc.children(select)))
        while stack:
            node = stack.pop()
            if doc.node_type[node] != ELEMENT_NODE:
                continue
            tag = doc.tag(node)
            if tag == "option":
                attrs = doc.attrs(node)
                label = attrs.get("label") or doc.text_content(node, 80)
                found.append((clean(label, 60), node in doc.option_selected))
            elif tag == "optgroup":
                stack.extend(reversed(doc.children(node)))
        return found

    def options_of(self, node: int) -> tuple[str, ...]:
        if self.doc.tag(node) != "select":
            return ()
        options = self._options(node)
        return tuple(text for text, _ in options[:_OPTION_LIMIT])

    def option_count(self, node: int) -> int:
        return len(self._options(node)) if self.doc.tag(node) == "select" else 0

    def input_hint(self, node: int) -> str | None:
        attrs = self.ctx.attrs[node] or {}
        if self.doc.tag(node) != "input":
            return None
        kind = attrs.get("type", "").lower()
        return kind if kind in HINTED_INPUT_TYPES else None

    def states_of(self, node: int, role: str, ctx: NodeContext) -> tuple[str, ...]:
        doc = self.doc
        attrs = ctx.attrs[node] or {}
        tag = doc.tag(node)
        states: list[str] = []
        if role in _CHECKABLE:
            if tag == "input":
                checked = node in doc.input_checked
            else:
                checked = attrs.get("aria-checked", "").lower() in ("true", "mixed")
            if attrs.get("aria-checked", "").lower() == "mixed":
                states.append("mixed")
            elif checked:
                states.append("checked")
        if attrs.get("aria-selected", "").lower() == "true" or (
            tag == "option" and node in doc.option_selected
        ):
            states.append("selected")
        expanded = attrs.get("aria-expanded", "").lower()
        if expanded == "true":
            states.append("expanded")
        elif expanded == "false":
            states.append("collapsed")
        pressed = attrs.get("aria-pressed", "").lower()
        if pressed in ("true", "mixed"):
            states.append("pressed")
        disabled = truthy_aria(attrs, "aria-disabled") or (
            tag in _FORM_TAGS | {"option", "optgroup", "fieldset"}
            and ("disabled" in attrs or ctx.fieldset_disabled[node])
        )
        if disabled:
            states.append("disabled")
        if "required" in attrs or truthy_aria(attrs, "aria-required"):
            states.append("required")
        if "readonly" in attrs or truthy_aria(attrs, "aria-readonly"):
            states.append("readonly")
        if truthy_aria(attrs, "aria-invalid"):
            states.append("invalid")
        if ctx.faded[node] and tag not in _FORM_TAGS:
            states.append("transparent")
        return tuple(states)
