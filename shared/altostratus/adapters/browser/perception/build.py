"""From a CDP capture to the page model: which elements are operable, what they are called.

One linear pass per document (parents come before children in a DOM snapshot) carries each
node's context down: nearest interactive ancestor, text owner, label, landmark, overlay. An
element is listed when it is visible and either has an interactive role (native or ARIA, or an
editable root) or is a "weak" clickable (a click listener, tabindex, or the element that turns
the cursor into a pointer) that contains no other interactive element and sits inside none.
Frames are entered where their <iframe> stands, so the model keeps document order.
"""

from __future__ import annotations

from altostratus.adapters.browser.perception.capture import PageCapture, TargetCapture
from altostratus.adapters.browser.perception.dom import (
    CURSOR,
    ELEMENT_NODE,
    OPACITY,
    POINTER_EVENTS,
    POSITION,
    TEXT_NODE,
    VISIBILITY,
    DocView,
)
from altostratus.adapters.browser.perception.emit import DocEmitter, FramePlace, PageContext
from altostratus.adapters.browser.perception.fields import Fields, NodeContext
from altostratus.adapters.browser.perception.pagemodel import (
    ELEMENT,
    HEADING,
    TEXT,
    PageModel,
)
from altostratus.adapters.browser.perception.registry import ElementRegistry
from altostratus.adapters.browser.perception.semantics import (
    DIALOG_ROLES,
    INTERACTIVE_ROLES,
    KNOWN_ROLES,
    LANDMARK_ROLES,
    ax_name,
    ax_role,
    explicit_role,
    implicit_role,
    is_editable,
    truthy_aria,
)

BLOCK_TAGS = frozenset(
    {
        "p",
        "div",
        "li",
        "td",
        "th",
        "dd",
        "dt",
        "h1",
        "h2",
        "h3",
        "h4",
        "h5",
        "h6",
        "pre",
        "blockquote",
        "figcaption",
        "legend",
        "caption",
        "section",
        "article",
        "header",
        "footer",
        "nav",
        "main",
        "aside",
        "form",
        "ul",
        "ol",
        "dl",
        "table",
        "tr",
        "body",
        "details",
        "summary",
        "fieldset",
        "address",
    }
)
_SECTIONING = frozenset({"article", "aside", "main", "nav", "section"})
_FRAME_TAGS = frozenset({"iframe", "frame"})
_TEXT_OWNERS = frozenset({"label", "legend", "caption", "option", "figcaption"})
_NO_ROLE = frozenset({"none", "presentation", "generic"})
_POPUP_ROLES = frozenset({"listbox", "menu", "tree", "grid"})
# A fixed layer covering this share of the viewport is treated as an overlay.
_LAYER_SHARE = 0.15


class PageBuilder:
    """Builds the page model of one capture; ids come from the session's registry."""

    def __init__(self, capture: PageCapture, registry: ElementRegistry) -> None:
        self.capture = capture
        self.page = PageContext(
            registry=registry,
            vw=capture.viewport_width,
            vh=capture.viewport_height,
            by_owner={c.owner: c for c in capture.targets[1:] if c.owner is not None},
        )

    def build(self) -> PageModel:
        main = self.capture.main
        doc = main.docs[0]
        model = PageModel(
            url=doc.url,
            title=doc.title,
            viewport_width=self.page.vw,
            viewport_height=self.page.vh,
            scroll_x=doc.scroll_x,
            scroll_y=doc.scroll_y,
            page_height=max(doc.content_height, self.page.vh),
            document_id=main.loaders.get(doc.frame_id, doc.frame_id),
        )
        frame = FramePlace(
            0, -doc.scroll_x, -doc.scroll_y, (0.0, 0.0, self.page.vw, self.page.vh), "main", (), -1, "", False
        )
        _DocPass(self.page, model, main, doc, frame).run()
        return model


class _DocPass(DocEmitter):
    """One document's pass: classify every node, then emit the items in document order."""

    def enter_frame(self, tc: TargetCapture, doc: DocView, frame: FramePlace) -> None:
        _DocPass(self.page, self.model, tc, doc, frame).run()

    # -- the pass --

    def run(self) -> None:
        doc = self.doc
        n = len(doc)
        ctx = NodeContext.empty(n)
        fields = Fields(doc, ctx)
        # "ax" mode: Chromium's accessibility tree decides roles and names where it has them.
        ax = {n["backendDOMNodeId"]: n for n in self.tc.ax.get(doc.frame_id, []) if "backendDOMNodeId" in n}
        events: list[tuple[int, str]] = []
        overlay_nodes: list[int] = []
        layer_min_area = _LAYER_SHARE * self.page.vw * self.page.vh
        parent = doc.parent
        node_type = doc.node_type
        layout_of = doc.layout_of
        for i in range(n):
            p = parent[i]
            kind = node_type[i]
            if p >= 0:
                ctx.inherit(i, p)
            if kind == TEXT_NODE:
                if i in layout_of:
                    text = doc.value(i)
                    if text and not text.isspace():
                        owner = ctx.owner[i]
                        if owner >= 0:
                            fields.add_text(owner, text)
                        else:
                            block = ctx.block[i]
                            if block not in ctx.block_text:
                                events.append((block, TEXT))
                                ctx.block_text[block] = []
                                ctx.block_first[block] = i
                            ctx.block_text[block].append(text)
                continue
            if kind != ELEMENT_NODE:
                continue
            attrs = doc.attrs(i)
            ctx.attrs[i] = attrs
            tag = doc.tag(i)
            li = layout_of.get(i)
            role = explicit_role(attrs)
            if role is None or role in _NO_ROLE:
                native = implicit_role(tag, attrs, in_section=ctx.section[i])
                # ARIA ignores role=none on a focusable native control.
                role = native if role is None or native in INTERACTIVE_ROLES else None
            ctx.role[i] = role or ""
            element_id = attrs.get("id")
            if element_id:
                ctx.id_counts[element_id] = ctx.id_counts.get(element_id, 0) + 1
            if tag in BLOCK_TAGS:
                ctx.block[i] = i
            if tag in _SECTIONING:
                ctx.section[i] = True
            if tag == "label":
                ctx.label_anc[i] = i
                target = attrs.get("for")
                if target:
                    ctx.labels_for.setdefault(target, []).append(i)
            if tag == "fieldset" and "disabled" in attrs:
                ctx.fieldset_disabled[i] = True
            style_pointer = False
            visible = False
            if li is not None:
                style_pointer = doc.style(li, CURSOR) == "pointer"
                ctx.pointer[i] = style_pointer
                bounds = doc.bounds[li]
                visible = bounds[2] > 0 and bounds[3] > 0 and doc.style(li, VISIBILITY) in ("visible", "")
                try:
                    opacity = float(doc.style(li, OPACITY) or 1)
                except ValueError:
                    opacity = 1.0
                ctx.faded[i] = opacity == 0 or ctx.faded[i]
            if role in LANDMARK_ROLES:
                ctx.landmark[i] = i
            # Extra text that names an ancestor: image alt, svg <title>, aria-label on a wrapper.
            owner = ctx.owner[i]
            if owner >= 0:
                if tag == "img" and attrs.get("alt"):
                    fields.add_text(owner, attrs["alt"])
                elif tag == "title" and p >= 0 and doc.tag(p) == "svg":
                    fields.add_text(owner, doc.text_content(i, 80))
                elif attrs.get("aria-label") and role not in INTERACTIVE_ROLES:
                    fields.add_text(owner, attrs["aria-label"])
            if ax:
                ax_node = ax.get(doc.backend_id[i])
                if ax_node is not None and not ax_node.get("ignored"):
                    accessible = ax_role(ax_node)
                    if accessible in INTERACTIVE_ROLES or (role and accessible in KNOWN_ROLES):
                        ctx.role[i] = role = accessible
                    fields.set_ax_name(i, ax_name(ax_node))
            # Interactive?
            strong = role in INTERACTIVE_ROLES or (is_editable(attrs) and not ctx.editable[i])
            if is_editable(attrs):
                ctx.editable[i] = True
                if not role:
                    ctx.role[i] = role = "textbox"
            if strong and role == "option" and li is None:
                strong = False  # options of a closed native <select> are read from the select
            weak = False
            if not strong and ctx.strong_anc[i] < 0 and tag not in ("html", "body") and li is not None:
                pointer_started = style_pointer and not (p >= 0 and ctx.pointer[p])
                tabindex = attrs.get("tabindex")
                tabbable = tabindex is not None and tabindex.strip().isdigit()
                weak = (i in doc.clickable and tag != "label") or tabbable or pointer_started
                if weak and li is not None and doc.style(li, POINTER_EVENTS) == "none":
                    weak = False
            if strong or weak:
                ctx.candidate[i] = 2 if strong else 1
                ctx.cand_anc[i] = i
                if strong:
                    ctx.strong_anc[i] = i
                # Inside a <label>, a clickable span's text still names the labelled control.
                if strong or ctx.label_anc[i] < 0:
                    ctx.owner[i] = i
                events.append((i, ELEMENT))
                ctx.visible[i] = visible
            elif ctx.cand_anc[i] < 0 and (role == "heading" or tag in _TEXT_OWNERS):
                ctx.owner[i] = i
                if role == "heading" and visible:
                    events.append((i, HEADING))
            if tag in _FRAME_TAGS and visible:
                events.append((i, "frame"))
                ctx.visible[i] = True
            # Overlays: dialogs, popups, large fixed layers (the outermost one wins).
            if li is not None and visible and ctx.overlay[i] < 0:
                position = doc.style(li, POSITION)
                bounds = doc.bounds[li]
                overlay_kind = ""
                if role in DIALOG_ROLES or truthy_aria(attrs, "aria-modal"):
                    overlay_kind = "dialog"
                elif role in _POPUP_ROLES and position in ("absolute", "fixed"):
                    overlay_kind = "popup"
                elif (
                    position == "fixed"
                    and bounds[2] * bounds[3] >= layer_min_area
                    and doc.style(li, POINTER_EVENTS) != "none"
                    and not ctx.faded[i]
                ):
                    overlay_kind = "layer"
                if overlay_kind:
                    ctx.overlay[i] = i
                    ctx.overlay_kind[i] = overlay_kind
                    overlay_nodes.append(i)
            elif role in DIALOG_ROLES and ctx.overlay[i] >= 0:
                outer = ctx.overlay[i]
                if ctx.overlay_kind.get(outer) == "layer":
                    ctx.overlay_label_node[outer] = i
        fields.finish()
        self._emit(events, ctx, fields, overlay_nodes)
