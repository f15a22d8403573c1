"""The browser provider both runtimes give the orchestration: a fresh browser context per run
and slice, restored from the checkpoint, in Chromium launched here or reached at the run's
`browser_address`.

Embedded, each worker keeps its Chromium between slices and runs (`reuse_browser`): starting
one costs about a second, a new context a few milliseconds. On Lambda each invocation starts
its own. `RecordedBrowsers` records each slice's browser (video, trace) around any provider.
"""

from __future__ import annotations

import asyncio
import weakref
from collections.abc import AsyncIterator, Mapping
from contextlib import asynccontextmanager
from typing import Any

from altostratus.domain.run_request import RunTaskRequest
from altostratus.domain.view import RunView
from altostratus.engine.agent.session_adapter import SessionBrowser
from altostratus.engine.browser import BrowserGoneError, BrowserSession, LaunchConfig
from altostratus.engine.browser.config import session_config_for_run
from altostratus.engine.browser.runtime import BrowserRuntime
from altostratus.engine.browser.state import BrowserState
from altostratus.engine.recording.recorder import RecordingSink, SliceRecording
from altostratus.orchestration.handlers import BrowserProvider, OpenBrowser
from altostratus.runtimes.settings import Settings
from altostratus.security.targets import TargetPolicy

# What makes a slice retryable: the browser went away under it.
BROWSER_GONE: tuple[type[BaseException], ...] = (BrowserGoneError,)


class OpenedSession:
    """A slice's browser: the session, and the agent's view of it."""

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
    ) -> None:
        self._launch = launch
        self._policy = policy
        self._proxies = dict(proxies)
        self._reuse = reuse_browser
        # The kept browser of each event loop (a worker's loop lives as long as the worker).
        self._kept: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, BrowserRuntime] = (
            weakref.WeakKeyDictionary()
        )

    @asynccontextmanager
    async def open(
        self, view: RunView, request: RunTaskRequest, restore: dict[str, Any] | None
    ) -> AsyncIterator[OpenedSession]:
        dumped = request.model_dump(mode="json")
        config = session_config_for_run(
            extra_http_headers=request.extra_http_headers,
            proxy_location=dumped.get("proxy_location"),
            proxy_locations=self._proxies,
            max_screenshot_scrolls=view.max_screenshot_scrolls or 0,
        )
        state = BrowserState.model_validate(restore) if restore else None
        address = request.browser_address
        if address:
            headers = {k: v for k, v in (request.cdp_connect_headers or {}).items() if v is not None}
            launch = self._launch.model_copy(update={"browser_address": address, "cdp_headers": headers})
            runtime, owned = await BrowserRuntime.start(launch, policy=self._policy), True
        else:
            runtime, owned = await self._local_browser()
        try:
            session = await runtime.new_session(config, state=state)
            try:
                yield OpenedSession(session)
            finally:
                await session.close()
        finally:
            if owned:
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


def browser_provider(settings: Settings, *, embedded: bool) -> ChromiumBrowserProvider:
    """Embedded, the browser may reach loopback (the machine's own test pages) unless the
    operator says otherwise, and workers keep their browser; on AWS nothing private is
    reachable unless allowed."""
    launch = LaunchConfig(
        executable_path=settings.chromium_path, lambda_mode=settings.browser_profile == "lambda"
    )
    policy = TargetPolicy.for_runtime("embedded" if embedded else "aws", settings.allowed_targets)
    return ChromiumBrowserProvider(
        launch=launch, policy=policy, proxies=settings.proxy_locations, reuse_browser=embedded
    )


class RecordedBrowsers:
    """Around another provider: each slice's browser is recorded while the slice runs."""

    def __init__(self, inner: BrowserProvider, sink: RecordingSink) -> None:
        self.inner = inner
        self.sink = sink

    @asynccontextmanager
    async def open(
        self, view: RunView, request: RunTaskRequest, restore: dict[str, Any] | None
    ) -> AsyncIterator[OpenBrowser]:
        async with self.inner.open(view, request, restore) as opened:
            if not isinstance(opened, OpenedSession):
                yield opened
                return
            async with SliceRecording(self.sink, view, opened.session, hidden=request.secret_values()):
                yield opened

    async def close(self) -> None:
        await self.inner.close()
