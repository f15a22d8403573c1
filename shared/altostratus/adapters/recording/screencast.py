"""The active tab as a stream of JPEG frames, from Chromium's screencast (CDP).

Chromium sends a frame when the page's picture changes and waits for each frame to be
acknowledged before it sends the next; acknowledging no sooner than one frame interval
later caps the rate at the source. The newest frame is kept for a reader in another thread
(the video encoder). When the session's active tab changes, the screencast moves to it.
"""

from __future__ import annotations

import asyncio
import base64
import contextlib
import logging
import threading
from typing import TYPE_CHECKING, Any

from playwright.async_api import Error as PlaywrightError

if TYPE_CHECKING:
    from playwright.async_api import CDPSession, Page

    from altostratus.adapters.browser.session import BrowserSession

log = logging.getLogger(__name__)
_FOLLOW_INTERVAL_S = 0.25
# Chromium sends nothing while a page stays still; after this long without a frame the
# screencast is started again, which sends the current picture.
_REFRESH_AFTER_S = 3.0


class Screencast:
    def __init__(
        self, session: BrowserSession, *, fps: float, max_width: int, max_height: int, quality: int = 80
    ) -> None:
        self._session = session
        self._interval = 1.0 / fps
        self._params = {
            "format": "jpeg",
            "quality": quality,
            "maxWidth": max_width,
            "maxHeight": max_height,
            "everyNthFrame": 1,
        }
        self._lock = threading.Lock()
        self._latest: tuple[int, str] | None = None  # (sequence number, base64 JPEG)
        self._count = 0
        self._page: Page | None = None
        self._cdp: CDPSession | None = None
        self._last_frame_at = 0.0
        self._follower: asyncio.Task[None] | None = None
        self._first = asyncio.Event()
        self._acks: set[asyncio.Task[None]] = set()

    def latest(self) -> tuple[int, bytes] | None:
        """The newest frame as (sequence number, JPEG bytes), or None before the first one.
        Safe to call from any thread."""
        with self._lock:
            latest = self._latest
        return None if latest is None else (latest[0], base64.b64decode(latest[1]))

    async def start(self) -> None:
        await self._follow_once()
        self._follower = asyncio.ensure_future(self._follow())

    async def first_frame(self, timeout_s: float) -> bool:
        """Wait for the first frame; False if none came in time."""
        try:
            await asyncio.wait_for(self._first.wait(), timeout_s)
        except TimeoutError:
            return False
        return True

    async def stop(self) -> None:
        if self._follower is not None:
            self._follower.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._follower
        await self._detach()
        for task in list(self._acks):
            task.cancel()

    async def _follow(self) -> None:
        while True:
            await asyncio.sleep(_FOLLOW_INTERVAL_S)
            try:
                await self._follow_once()
            except Exception:  # the recording must never stop the run
                log.debug("screencast: could not follow the active tab", exc_info=True)

    async def _follow_once(self) -> None:
        page = self._session.active_page()
        loop = asyncio.get_running_loop()
        if page is not self._page:
            await self._detach()
            if page is None:
                return
            self._page = page
            cdp = await page.context.new_cdp_session(page)
            self._cdp = cdp
            cdp.on("Page.screencastFrame", lambda params: self._on_frame(cdp, params))
            await self._start(cdp)
        elif self._cdp is not None and loop.time() - self._last_frame_at > _REFRESH_AFTER_S:
            await self._cdp.send("Page.stopScreencast")
            await self._start(self._cdp)

    async def _start(self, cdp: CDPSession) -> None:
        self._last_frame_at = asyncio.get_running_loop().time()
        await cdp.send("Page.startScreencast", self._params)

    async def _detach(self) -> None:
        cdp, self._cdp, self._page = self._cdp, None, None
        if cdp is None:
            return
        with contextlib.suppress(PlaywrightError):
            await cdp.send("Page.stopScreencast")
        with contextlib.suppress(PlaywrightError):
            await cdp.detach()

    def _on_frame(self, cdp: CDPSession, params: dict[str, Any]) -> None:
        if cdp is not self._cdp:
            return  # a frame of a tab no longer followed
        loop = asyncio.get_running_loop()
        self._last_frame_at = loop.time()
        self._count += 1
        with self._lock:
            self._latest = (self._count, str(params["data"]))
        self._first.set()
        loop.call_later(self._interval, self._ack, cdp, params["sessionId"])

    def _ack(self, cdp: CDPSession, session_id: int) -> None:
        if cdp is not self._cdp:
            return
        task = asyncio.ensure_future(self._send_ack(cdp, session_id))
        self._acks.add(task)
        task.add_done_callback(self._acks.discard)

    @staticmethod
    async def _send_ack(cdp: CDPSession, session_id: int) -> None:
        with contextlib.suppress(PlaywrightError):
            await cdp.send("Page.screencastFrameAck", {"sessionId": session_id})
