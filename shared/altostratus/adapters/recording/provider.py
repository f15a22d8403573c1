"""`RecordedBrowsers`: around any browser provider, each slice's browser is recorded (its video,
and its trace when the settings ask for one) while the slice runs."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

from altostratus.adapters.browser import BrowserSession
from altostratus.adapters.recording.recorder import RecordingSink, SliceRecording
from altostratus.domain.run_request import RunTaskRequest
from altostratus.domain.view import RunView
from altostratus.ports.browser import BrowserProvider, OpenBrowser


class RecordedBrowsers:
    def __init__(self, inner: BrowserProvider, sink: RecordingSink) -> None:
        self.inner = inner
        self.sink = sink

    @asynccontextmanager
    async def open(
        self, view: RunView, request: RunTaskRequest, restore: dict[str, Any] | None
    ) -> AsyncIterator[OpenBrowser]:
        async with self.inner.open(view, request, restore) as opened:
            # Only a Chromium session of ours can be watched (a stand-in browser cannot).
            session = getattr(opened, "session", None)
            if not isinstance(session, BrowserSession):
                yield opened
                return
            async with SliceRecording(self.sink, view, session, hidden=request.secret_values()):
                yield opened

    async def close(self) -> None:
        await self.inner.close()
