"""The browser provider both runtimes give the orchestration, as the settings configure it."""

from __future__ import annotations

from altostratus.adapters.browser import LaunchConfig
from altostratus.adapters.browser.provider import ChromiumBrowserProvider
from altostratus.ports.session_browsers import SessionBrowsers
from altostratus.runtimes.settings import Settings
from altostratus.security.targets import TargetPolicy


def browser_provider(
    settings: Settings, *, embedded: bool, sessions: SessionBrowsers | None = None
) -> ChromiumBrowserProvider:
    """Embedded, the browser may reach loopback (the machine's own test pages) unless the
    operator says otherwise, and workers keep their browser; on AWS nothing private is
    reachable unless allowed."""
    launch = LaunchConfig(
        executable_path=settings.chromium_path, lambda_mode=settings.browser_profile == "lambda"
    )
    policy = TargetPolicy.for_runtime("embedded" if embedded else "aws", settings.allowed_targets)
    return ChromiumBrowserProvider(
        launch=launch,
        policy=policy,
        proxies=settings.proxy_locations,
        reuse_browser=embedded,
        sessions=sessions,
    )
