"""Taking a snapshot: capture over CDP, build the page model, render, count tokens, diff."""

from __future__ import annotations

import hashlib
import time
from collections.abc import Sequence
from dataclasses import dataclass, field

from altostratus.adapters.browser.perception.build import PageBuilder
from altostratus.adapters.browser.perception.capture import PageTargets, capture_page
from altostratus.adapters.browser.perception.diff import diff_snapshots
from altostratus.adapters.browser.perception.model import Snapshot, TabInfo
from altostratus.adapters.browser.perception.pagemodel import PageModel
from altostratus.adapters.browser.perception.registry import ElementRegistry
from altostratus.adapters.browser.perception.render import element_lines, render, text_lines
from altostratus.adapters.browser.tokens import count_tokens


@dataclass
class Perceiver:
    """Snapshots of a session's tabs; ids come from one registry, diffs from the last snapshot."""

    registry: ElementRegistry = field(default_factory=ElementRegistry)
    with_ax: bool = False
    _previous: dict[str, Snapshot] = field(default_factory=dict)

    async def model(self, targets: PageTargets) -> PageModel:
        """The page model alone (no rendering): what actions and effect reports compare."""
        capture = await capture_page(targets, with_ax=self.with_ax)
        model = PageBuilder(capture, self.registry).build()
        self.registry.forget_documents(model.live_documents)
        self.registry.remember(model.elements)
        return model

    async def snapshot(
        self, targets: PageTargets, *, full: bool = False, tabs: Sequence[TabInfo] = (), remember: bool = True
    ) -> Snapshot:
        started = time.perf_counter()
        model = await self.model(targets)
        return self.finish(model, started=started, full=full, tabs=tabs, remember=remember)

    def finish(
        self,
        model: PageModel,
        *,
        started: float,
        full: bool,
        tabs: Sequence[TabInfo] = (),
        remember: bool = True,
    ) -> Snapshot:
        text = render(model, tabs, full=full)
        lines = element_lines(model)
        digest = hashlib.sha256("\n".join(text_lines(model)).encode()).hexdigest()[:16]
        fingerprint = hashlib.sha256("\n".join([model.url, digest, *lines.values()]).encode()).hexdigest()[
            :16
        ]
        previous = self._previous.get(model.document_id)
        diff = (
            diff_snapshots(previous, lines=lines, text_digest=digest, scroll=(model.scroll_x, model.scroll_y))
            if previous is not None
            else None
        )
        snapshot = Snapshot(
            url=model.url,
            title=model.title,
            text=text,
            full=full,
            elements=tuple(model.elements),
            tokens=count_tokens(text),
            ms=(time.perf_counter() - started) * 1000,
            viewport_width=model.viewport_width,
            viewport_height=model.viewport_height,
            scroll_x=model.scroll_x,
            scroll_y=model.scroll_y,
            page_height=model.page_height,
            document_id=model.document_id,
            fingerprint=fingerprint,
            tabs=tuple(tabs),
            diff=diff,
            lines=lines,
            text_digest=digest,
        )
        if remember:
            # One previous snapshot per document is enough for diffs; old documents are dropped.
            self._previous = {model.document_id: snapshot}
        return snapshot
