"""From a CDP capture to the page model: which elements are operable, what they are called.

One linear pass per document (parents come before children in a DOM snapshot) carries each
node's context down: nearest interactive ancestor, text owner, label, landmark, overlay. An
element is listed when it is visible and either has an interactive role (native or ARIA, or an
editable root) or is a "weak" clickable (a click listener, tabindex, or the element that turns
the cursor into a pointer) that contains no other interactive element and sits inside none.
Frames are entered where their <iframe> stands, so the model keeps document order.
"""

from __future__ import annotations

from dataclasses import dataclass
from urllib.parse import urljoin

from altostratus.engine.browser.perception.capture import PageCapture, TargetCapture
from altostratus.engine.browser.perception.dom import (
    CURSOR,
    ELEMENT_NODE,
    OPACITY,
    POINTER_EVENTS,
    POSITION,
    TEXT_NODE,
    VISIBILITY,
    DocView,
)
from altostratus.engine.browser.perception.fields import Fields, NodeContext
from altostratus.engine.browser.perception.model import BBox, Element, ElementRef, SelectorBundle, memo
from altostratus.engine.browser.perception.pagemodel import (
    ELEMENT,
    FRAME_END,
    HEADING,
    TEXT,
    Item,
    Overlay,
    PageModel,
)
from altostratus.engine.browser.perception.registry import ElementRegistry
from altostratus.engine.browser.perception.selectors import PathBuilder, bundle_for
from altostratus.engine.browser.perception.semantics import (
    DIALOG_ROLES,
    INTERACTIVE_ROLES,
    KNOWN_ROLES,
    LANDMARK_ROLES,
    ax_name,
    ax_role,
    clean,
    explicit_role,
    heading_level,
    implicit_role,
    is_editable,
    truthy_aria,
    undouble,
)
from altostratus.engine.browser.perception.trees import FlatTree

BLOCK_TAGS = frozenset(
    [
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
    ]
)
_SECTIONING = frozenset({"article", "aside", "main", "nav", "section"})
_FRAME_TAGS = frozenset({"iframe", "frame"})
_TEXT_OWNERS = frozenset({"label", "legend", "caption", "option", "figcaption"})
_NO_ROLE = frozenset({"none", "presentation", "generic"})
_POPUP_ROLES = frozenset({"listbox", "menu", "tree", "grid"})
# A fixed layer covering this share of the viewport is treated as an overlay.
_LAYER_SHARE = 0.15


def _absolute(base: str, href: str) -> str:
    if href.startswith(("https://", "http://")):
        return href
    return urljoin(base, href)


@dataclass
class _Frame:
    """Where a document sits: nesting depth, offset into the viewport, clip, owner."""

    depth: int
    offset_x: float
    offset_y: float
    clip: tuple[float, float, float, float]
    label: str
    frames_css: tuple[str, ...]
    overlay: int
    landmark: str
    covered: bool


class PageBuilder:
    """Builds the page model of one capture; ids come from the session's registry."""

    def __init__(self, capture: PageCapture, registry: ElementRegistry) -> None:
        self.capture = capture
        self.registry = registry
        self.vw = capture.viewport_width
        self.vh = capture.viewport_height
        self._by_owner: dict[tuple[str, int], TargetCapture] = {
            c.owner: c for c in capture.targets[1:] if c.owner is not None
        }

    def build(self) -> PageModel:
        main = self.capture.main
        doc = main.docs[0]
        model = PageModel(
            url=doc.url,
            title=doc.title,
            viewport_width=self.vw,
            viewport_height=self.vh,
            scroll_x=doc.scroll_x,
            scroll_y=doc.scroll_y,
            page_height=max(doc.content_height, self.vh),
            document_id=main.loaders.get(doc.frame_id, doc.frame_id),
        )
        frame = _Frame(
            0, -doc.scroll_x, -doc.scroll_y, (0.0, 0.0, self.vw, self.vh), "main", (), -1, "", False
        )
        _DocPass(self, model, main, doc, frame).run()
        return model


class _DocPass:
    def __init__(
        self, page: PageBuilder, model: PageModel, tc: TargetCapture, doc: DocView, frame: _Frame
    ) -> None:
        self.page = page
        self.model = model
        self.tc = tc
        self.doc = doc
        self.frame = frame
        self.loader = tc.loaders.get(doc.frame_id, "")
        # Selector paths are keyed by backend node id when they come from the pierced DOM.
        self._by_backend = False
        model.live_documents.add((tc.target.key, doc.frame_id, self.loader))

    # -- geometry --

    def _box(self, layout_index: int) -> BBox:
        x, y, w, h = self.doc.bounds[layout_index][:4]
        return BBox(
            x=round(x + self.frame.offset_x, 1), y=round(y + self.frame.offset_y, 1), width=w, height=h
        )

    def _in_view(self, box: BBox) -> bool:
        cx, cy, cw, ch = self.frame.clip
        left, top = max(box.x, cx, 0.0), max(box.y, cy, 0.0)
        right = min(box.x + box.width, cx + cw, self.page.vw)
        bottom = min(box.y + box.height, cy + ch, self.page.vh)
        return right - left >= 1 and bottom - top >= 1

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

    # -- from pass results to items --

    def _emit(
        self, events: list[tuple[int, str]], ctx: NodeContext, fields: Fields, overlay_nodes: list[int]
    ) -> None:
        doc = self.doc
        model = self.model
        overlay_index = {}
        for node in overlay_nodes:
            label_node = ctx.overlay_label_node.get(node, node)
            kind = ctx.overlay_kind[node]
            role = ctx.role[label_node] or ("dialog" if kind == "dialog" else "overlay")
            name = fields.name_of(label_node, role if role != "overlay" else "region")
            label = f'{role} "{clean(name, 60)}"' if name else role
            box = self._box(doc.layout_of[node])
            visible_w = max(0.0, min(box.x + box.width, self.page.vw) - max(box.x, 0.0))
            visible_h = max(0.0, min(box.y + box.height, self.page.vh) - max(box.y, 0.0))
            share = visible_w * visible_h / max(1.0, self.page.vw * self.page.vh)
            note = ""
            if kind == "dialog" and truthy_aria(ctx.attrs[label_node] or {}, "aria-modal"):
                note = "modal"
            elif kind == "layer":
                note = "covers the page" if share >= 0.8 else "covers part of the page"
            overlay_index[node] = len(model.overlays)
            model.overlays.append(Overlay(kind, label, covers=kind in ("dialog", "layer"), note=note))
        if doc.shadow_root_type and self.tc.pierced is not None:
            builder = PathBuilder(self.tc.pierced)
            self._by_backend = True
        else:
            builder = PathBuilder(FlatTree(doc, ctx.id_counts))
        covering = [
            (node, doc.layout_of[node]) for node in overlay_nodes if ctx.overlay_kind[node] != "popup"
        ]
        for node, kind in events:
            if kind == TEXT:
                self._emit_text(node, ctx, overlay_index)
            elif kind == HEADING:
                li = doc.layout_of[node]
                box = self._box(li)
                model.items.append(
                    Item(
                        HEADING,
                        self.frame.depth,
                        self._in_view(box),
                        box.y,
                        overlay=self._overlay_of(node, ctx, overlay_index),
                        landmark=self._landmark_of(node, ctx, fields),
                        text=clean(undouble(fields.owned_text(node)), 80),
                        level=heading_level(doc.tag(node), ctx.attrs[node] or {}),
                    )
                )
            elif kind == ELEMENT:
                self._emit_element(node, ctx, fields, builder, overlay_index, covering)
            else:
                self._emit_frame(node, ctx, fields, builder, overlay_index, covering)

    def _key(self, node: int) -> int:
        return self.doc.backend_id[node] if self._by_backend else node

    def _builder_for(self, builder: PathBuilder, node: int) -> PathBuilder | None:
        if self._by_backend and self.tc.pierced is not None and self._key(node) not in self.tc.pierced:
            return None  # the node appeared after the pierced DOM was read
        return builder

    def _overlay_of(self, node: int, ctx: NodeContext, overlay_index: dict[int, int]) -> int:
        owner = ctx.overlay[node]
        return overlay_index.get(owner, -1) if owner >= 0 else self.frame.overlay

    def _landmark_of(self, node: int, ctx: NodeContext, fields: Fields) -> str:
        landmark = ctx.landmark[node]
        if landmark < 0:
            return self.frame.landmark
        role = ctx.role[landmark]
        name = (
            fields.name_of(landmark, role)
            if role in ("navigation", "region", "form", "complementary")
            else ""
        )
        return f'{role} "{clean(name, 40)}"' if name else role

    def _emit_text(self, block: int, ctx: NodeContext, overlay_index: dict[int, int]) -> None:
        first = ctx.block_first[block]
        li = self.doc.layout_of[first]
        box = self._box(li)
        text = clean(" ".join(ctx.block_text[block]), 10_000)
        if not any(c.isalnum() for c in text):
            return  # separators ("|", "-", "·") say nothing
        self.model.items.append(
            Item(
                TEXT,
                self.frame.depth,
                self._in_view(box),
                box.y,
                overlay=self._overlay_of(block, ctx, overlay_index),
                landmark="",
                text=text,
            )
        )

    def _emit_element(
        self,
        node: int,
        ctx: NodeContext,
        fields: Fields,
        builder: PathBuilder,
        overlay_index: dict[int, int],
        covering: list[tuple[int, int]],
    ) -> None:
        doc = self.doc
        if ctx.candidate[node] == 1 and (ctx.has_candidate_below[node] or fields.is_label_proxy(node)):
            # A container of controls, or a label whose control is listed: its text stays as text.
            text = fields.owned_text(node)
            layout = doc.layout_of.get(node)
            if text and layout is not None and not fields.is_label_proxy(node):
                box = self._box(layout)
                self.model.items.append(
                    Item(
                        TEXT,
                        self.frame.depth,
                        self._in_view(box),
                        box.y,
                        overlay=self._overlay_of(node, ctx, overlay_index),
                        text=clean(text, 10_000),
                    )
                )
            return
        layout = fields.visible_layout(node)
        if layout is None:
            return
        attrs = ctx.attrs[node] or {}
        role = ctx.role[node] or "clickable"
        name = fields.name_of(node, role)
        tag = doc.tag(node)
        box = self._box(layout)
        covered = self.frame.covered
        if not covered and ctx.overlay[node] < 0:
            covered = self._is_covered(layout, covering)
        href = attrs.get("href")
        usable = self._builder_for(builder, node)
        key = self._key(node)
        frames = self.frame.frames_css

        def bundle() -> SelectorBundle:
            text = clean(fields.owned_text(node), 80) if role in ("link", "button", "clickable") else None
            return bundle_for(
                usable,
                key,
                attrs,
                role=role,
                name=name,
                label=fields.label_text(node),
                text=text,
                frames=frames,
            )

        element = Element(
            bundle_source=memo(bundle),
            id=self.page.registry.id_for(self.tc.target.key, doc.frame_id, self.loader, doc.backend_id[node]),
            role=role,
            name=name,
            tag=tag,
            value=fields.value_of(node, role),
            states=fields.states_of(node, role, ctx),
            input_type=fields.input_hint(node),
            options=fields.options_of(node),
            option_count=fields.option_count(node),
            href=_absolute(doc.url, href) if href and role == "link" else None,
            bbox=box,
            in_viewport=self._in_view(box),
            covered=covered,
            frame=self.frame.label,
            ref=ElementRef(
                target=self.tc.target.key,
                frame_id=doc.frame_id,
                loader_id=self.loader,
                backend_node_id=doc.backend_id[node],
            ),
        )
        self.model.items.append(
            Item(
                ELEMENT,
                self.frame.depth,
                element.in_viewport,
                box.y,
                overlay=self._overlay_of(node, ctx, overlay_index),
                landmark=self._landmark_of(node, ctx, fields),
                element=element,
            )
        )

    def _is_covered(self, layout: int, covering: list[tuple[int, int]]) -> bool:
        if not covering:
            return False
        doc = self.doc
        x, y, w, h = doc.bounds[layout][:4]
        cx, cy = x + w / 2, y + h / 2
        order = doc.paint_order[layout]
        for _node, overlay_layout in covering:
            ox, oy, ow, oh = doc.bounds[overlay_layout][:4]
            if doc.paint_order[overlay_layout] > order and ox <= cx <= ox + ow and oy <= cy <= oy + oh:
                return True
        return False

    def _emit_frame(
        self,
        node: int,
        ctx: NodeContext,
        fields: Fields,
        builder: PathBuilder,
        overlay_index: dict[int, int],
        covering: list[tuple[int, int]],
    ) -> None:
        doc = self.doc
        tc = self.tc
        child_tc = tc
        child_index = doc.content_document.get(node)
        if child_index is not None:
            child_doc = tc.docs[child_index]
        else:
            owner = self.page._by_owner.get((tc.target.key, doc.backend_id[node]))
            if owner is None or not owner.docs:
                return
            child_tc, child_doc = owner, owner.docs[0]
        attrs = ctx.attrs[node] or {}
        layout = doc.layout_of[node]
        box = self._box(layout)
        # Chromium's own error page stands in for a frame that could not load (or was refused).
        failed = child_doc.url.startswith("chrome-error:")
        frame_id = self.page.registry.id_for(tc.target.key, doc.frame_id, self.loader, doc.backend_id[node])
        usable = self._builder_for(builder, node)
        css = ""
        hosts: tuple[str, ...] = ()
        if usable is not None:
            css, root = usable.path(self._key(node))
            hosts, _closed = usable.hosts(root)
        name = attrs.get("title") or attrs.get("aria-label") or attrs.get("name") or ""
        overlay = self._overlay_of(node, ctx, overlay_index)
        frame_bundle = bundle_for(
            usable,
            self._key(node),
            attrs,
            role="iframe",
            name=name,
            label=None,
            text=None,
            frames=self.frame.frames_css,
        )

        self.model.items.append(
            Item(
                ELEMENT,
                self.frame.depth,
                self._in_view(box),
                box.y,
                overlay=overlay,
                landmark=self._landmark_of(node, ctx, fields),
                element=Element(
                    bundle_source=lambda: frame_bundle,
                    id=frame_id,
                    role="iframe",
                    name=clean(name, 60),
                    tag=doc.tag(node),
                    href=None if failed else child_doc.url,
                    states=("not-loaded",) if failed else (),
                    bbox=box,
                    in_viewport=self._in_view(box),
                    frame=self.frame.label,
                    ref=ElementRef(
                        target=tc.target.key,
                        frame_id=doc.frame_id,
                        loader_id=self.loader,
                        backend_node_id=doc.backend_id[node],
                    ),
                ),
            )
        )
        if failed:
            return
        cx, cy, cw, ch = self.frame.clip
        left, top = max(box.x, cx), max(box.y, cy)
        clip = (
            left,
            top,
            max(0.0, min(box.x + box.width, cx + cw) - left),
            max(0.0, min(box.y + box.height, cy + ch) - top),
        )
        child = _Frame(
            depth=self.frame.depth + 1,
            offset_x=box.x - child_doc.scroll_x,
            offset_y=box.y - child_doc.scroll_y,
            clip=clip,
            label=frame_id,
            frames_css=(*self.frame.frames_css, " >> ".join([*hosts, css])),
            overlay=overlay,
            landmark=self._landmark_of(node, ctx, fields),
            covered=self.frame.covered or (ctx.overlay[node] < 0 and self._is_covered(layout, covering)),
        )
        _DocPass(self.page, self.model, child_tc, child_doc, child).run()
        self.model.items.append(Item(FRAME_END, child.depth, False, box.y))
