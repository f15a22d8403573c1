"""Turning the builder's per-node results into page-model items, with their geometry.

`DocEmitter` holds what one document's pass shares with its output: where the document sits
(`FramePlace`), how boxes map into the viewport, and how an element, a heading, a block of text
or an iframe (entered in place) becomes an `Item`.
"""

from __future__ import annotations

from dataclasses import dataclass
from urllib.parse import urljoin

from altostratus.adapters.browser.perception.capture import TargetCapture
from altostratus.adapters.browser.perception.dom import DocView
from altostratus.adapters.browser.perception.fields import Fields, NodeContext
from altostratus.adapters.browser.perception.model import BBox, Element, ElementRef, SelectorBundle, memo
from altostratus.adapters.browser.perception.pagemodel import (
    ELEMENT,
    FRAME_END,
    HEADING,
    TEXT,
    Item,
    Overlay,
    PageModel,
)
from altostratus.adapters.browser.perception.registry import ElementRegistry
from altostratus.adapters.browser.perception.selectors import PathBuilder, bundle_for
from altostratus.adapters.browser.perception.semantics import clean, heading_level, truthy_aria, undouble
from altostratus.adapters.browser.perception.trees import FlatTree


def _absolute(base: str, href: str) -> str:
    if href.startswith(("https://", "http://")):
        return href
    return urljoin(base, href)


@dataclass
class PageContext:
    """What every document of one page shares: the id registry, the viewport, OOPIF owners."""

    registry: ElementRegistry
    vw: float
    vh: float
    by_owner: dict[tuple[str, int], TargetCapture]


@dataclass
class FramePlace:
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


class DocEmitter:
    """The output half of one document's pass (see `build._DocPass` for the input half)."""

    def __init__(
        self, page: PageContext, model: PageModel, tc: TargetCapture, doc: DocView, frame: FramePlace
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

    def enter_frame(self, tc: TargetCapture, doc: DocView, frame: FramePlace) -> None:
        """Run the pass over a child document, in place (the builder provides it)."""
        raise NotImplementedError

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
            owner = self.page.by_owner.get((tc.target.key, doc.backend_id[node]))
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
        child = FramePlace(
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
        self.enter_frame(child_tc, child_doc, child)
        self.model.items.append(Item(FRAME_END, child.depth, False, box.y))
