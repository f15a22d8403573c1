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
    operator says otherwise; on AWS nothing private is reachable unless allowed. Both keep
    their Chromium for the next slice: an embedded worker's, or a Lambda execution
    environment's (each run still gets a fresh context)."""
    launch = LaunchConfig(
        executable_path=settings.chromium_path, lambda_mode=settings.browser_profile == "lambda"
    )
    policy = TargetPolicy.for_runtime("embedded" if embedded else "aws", settings.allowed_targets)
    return ChromiumBrowserProvider(
        launch=launch,
        policy=policy,
        proxies=settings.proxy_locations,
        reuse_browser=True,
        sessions=sessions,
    )
