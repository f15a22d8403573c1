"""The browser provider both runtimes give the orchestration: Chromium per slice (launched, or
reached at the run's `browser_address`), a fresh context per run, restored from the checkpoint."""

from __future__ import annotations

from collections.abc import AsyncIterator, Mapping
from contextlib import asynccontextmanager
from dataclasses import dataclass
from typing import Any

from altostratus.domain.view import RunView
from altostratus.engine.agent.browser import AgentBrowser
from altostratus.engine.agent.session_adapter import SessionBrowser
from altostratus.engine.browser import (
    BrowserGoneError,
    BrowserSession,
    LaunchConfig,
    SessionConfig,
    resolve_proxy,
)
from altostratus.engine.browser.runtime import BrowserRuntime
from altostratus.engine.browser.state import BrowserState
from altostratus.runtimes.settings import Settings
from altostratus.security.targets import TargetPolicy

# What makes a slice retryable: the browser went away under it.
BROWSER_GONE: tuple[type[BaseException], ...] = (BrowserGoneError,)


@dataclass
class _Opened:
    session: BrowserSession

    @property
    def agent(self) -> AgentBrowser:
        return SessionBrowser(self.session)

    async def export_state(self) -> dict[str, Any]:
        return (await self.session.export_state()).model_dump(mode="json")


class ChromiumBrowserProvider:
    def __init__(self, *, launch: LaunchConfig, policy: TargetPolicy, proxies: Mapping[str, str]) -> None:
        self._launch = launch
        self._policy = policy
        self._proxies = dict(proxies)

    @asynccontextmanager
    async def open(self, view: RunView, restore: dict[str, Any] | None) -> AsyncIterator[_Opened]:
        request = view.request
        launch = self._launch.model_copy(
            update={
                "browser_address": request.get("browser_address"),
                "cdp_headers": {
                    k: v for k, v in (request.get("cdp_connect_headers") or {}).items() if v is not None
                },
            }
        )
        config = SessionConfig(
            extra_http_headers={
                k: v for k, v in (request.get("extra_http_headers") or {}).items() if v is not None
            },
            proxy=resolve_proxy(request.get("proxy_location"), self._proxies),
            max_screenshot_scrolls=view.max_screenshot_scrolls or 0,
        )
        state = BrowserState.model_validate(restore) if restore else None
        runtime = await BrowserRuntime.start(launch, policy=self._policy)
        try:
            session = await runtime.new_session(config, state=state)
            try:
                yield _Opened(session)
            finally:
                await session.close()
        finally:
            await runtime.close()


def browser_provider(settings: Settings, *, embedded: bool) -> ChromiumBrowserProvider:
    """Embedded, the browser may reach loopback (the machine's own test pages) unless the
    operator says otherwise; on AWS nothing private is reachable unless allowed."""
    launch = LaunchConfig(
        executable_path=settings.chromium_path, lambda_mode=settings.browser_profile == "lambda"
    )
    policy = TargetPolicy.for_runtime("embedded" if embedded else "aws", settings.allowed_targets)
    return ChromiumBrowserProvider(launch=launch, policy=policy, proxies=settings.proxy_locations)
