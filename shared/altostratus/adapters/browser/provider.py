"""The Chromium browser provider: a fresh browser context per run and slice, restored from the
checkpoint, in Chromium launched here or reached at the run's `browser_address`. A run in a
browser session works in the session's live browser, or (a backend that keeps none) starts
from the browser state the session's previous run left and leaves its own.

With `reuse_browser`, each event loop (an embedded worker's) keeps its Chromium between slices
and runs: starting one costs about a second, a new context a few milliseconds. On Lambda each
invocation starts its own.
"""

from __future__ import annotations

import asyncio
import weakref
from collections.abc import AsyncIterator, Mapping
from contextlib import asynccontextmanager
from typing import Any

from altostratus.adapters.browser import BrowserGoneError, BrowserSession, LaunchConfig
from altostratus.adapters.browser.agent_browser import SessionBrowser
from altostratus.adapters.browser.config import SessionConfig, session_config_for_run
from altostratus.adapters.browser.runtime import BrowserRuntime
from altostratus.adapters.browser.state import BrowserState
from altostratus.domain.run_request import RunTaskRequest
from altostratus.domain.view import RunView
from altostratus.ports.session_browsers import SessionBrowserError, SessionBrowsers
from altostratus.security.targets import TargetPolicy

# What makes a slice retryable: the browser went away under it.
BROWSER_GONE: tuple[type[BaseException], ...] = (BrowserGoneError,)


class _Opened:
    def __init__(self, session: BrowserSession) -> None:
        self.session = session
        self.agent = SessionBrowser(session)

    async def export_state(self) -> dict[str, Any]:
        return (await self.session.export_state()).model_dump(mode="json")


class ChromiumBrowserProvider:
    def __init__(
        self,
        *,
        launch: LaunchConfig,
        policy: TargetPolicy,
        proxies: Mapping[str, str],
        reuse_browser: bool = False,
        sessions: SessionBrowsers | None = None,
    ) -> None:
        self._launch = launch
        self._policy = policy
        self._proxies = dict(proxies)
        self._reuse = reuse_browser
        self._sessions = sessions
        # The kept browser of each event loop (a worker's loop lives as long as the worker).
        self._kept: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, BrowserRuntime] = (
            weakref.WeakKeyDictionary()
        )

    @asynccontextmanager
    async def open(
        self, view: RunView, request: RunTaskRequest, restore: dict[str, Any] | None
    ) -> AsyncIterator[_Opened]:
        dumped = request.model_dump(mode="json")
        config = session_config_for_run(
            extra_http_headers=request.extra_http_headers,
            proxy_location=dumped.get("proxy_location"),
            proxy_locations=self._proxies,
            max_screenshot_scrolls=view.max_screenshot_scrolls or 0,
        )
        state = BrowserState.model_validate(restore) if restore else None
        address = request.browser_address
        sessions, session_id = self._sessions, view.browser_session_id
        if session_id and sessions is not None and sessions.live:
            async with self._open_live(session_id, config) as opened:
                yield opened
            return
        if session_id and sessions is not None and state is None:
            # The run's first browser starts from what the session's previous run left.
            saved = sessions.saved_state(session_id)
            state = BrowserState.model_validate(saved) if saved else None
        if address:
            headers = {k: v for k, v in (request.cdp_connect_headers or {}).items() if v is not None}
            launch = self._launch.model_copy(update={"browser_address": address, "cdp_headers": headers})
            runtime, owned = await BrowserRuntime.start(launch, policy=self._policy), True
        else:
            runtime, owned = await self._local_browser()
        try:
            session = await runtime.new_session(config, state=state)
            try:
                yield _Opened(session)
                if session_id and sessions is not None:
                    # Kept at the end of every slice, so the state the run leaves when it
                    # releases the session is its last slice's.
                    left = await session.export_state()
                    sessions.save_state(session_id, view.run_id, left.model_dump(mode="json"))
            finally:
                await session.close()
        finally:
            if owned:
                await runtime.close()

    @asynccontextmanager
    async def _open_live(self, session_id: str, config: SessionConfig) -> AsyncIterator[_Opened]:
        """The browser session's live Chromium, in its default context: the pages and cookies
        the previous run left are there, and stay when this slice ends."""
        assert self._sessions is not None
        endpoint = self._sessions.endpoint(session_id)
        if endpoint is None:
            raise SessionBrowserError(f"the browser of session {session_id} is not running")
        launch = self._launch.model_copy(
            update={"browser_address": endpoint.url, "cdp_headers": endpoint.headers}
        )
        runtime = await BrowserRuntime.start(launch, policy=self._policy)
        try:
            context = (
                runtime.browser.contexts[0]
                if runtime.browser.contexts
                else await runtime.browser.new_context()
            )
            session = await runtime.new_session(config, keep=context)
            try:
                yield _Opened(session)
            finally:
                await session.close()
        finally:
            await runtime.close()

    async def _local_browser(self) -> tuple[BrowserRuntime, bool]:
        """(browser, whether the caller closes it)."""
        if not self._reuse:
            return await BrowserRuntime.start(self._launch, policy=self._policy), True
        loop = asyncio.get_running_loop()
        kept = self._kept.get(loop)
        if kept is None or not kept.alive:
            kept = await BrowserRuntime.start(self._launch, policy=self._policy)
            self._kept[loop] = kept
        return kept, False

    async def close(self) -> None:
        """Close the browser kept for the running event loop (a worker that stops)."""
        kept = self._kept.pop(asyncio.get_running_loop(), None)
        if kept is not None:
            await kept.close()
