"""Errors of the browser layer: the browser is gone, or a setting cannot be honoured.

Failures of a single action (element gone, click intercepted, navigation refused) are not
raised: `BrowserSession.act` returns them in the effect report with an `ActionError` code, so the
agent can read them and try something else. What is raised here ends the browser session.
"""

from __future__ import annotations

from altostratus.domain.proxies import ProxyLocationNotConfiguredError

__all__ = [
    "BrowserCrashedError",
    "BrowserDisconnectedError",
    "BrowserError",
    "BrowserGoneError",
    "LaunchError",
    "ProxyLocationNotConfiguredError",
    "SessionClosedError",
]


class BrowserError(Exception):
    """Base of the errors the browser layer raises."""


class BrowserGoneError(BrowserError):
    """The browser cannot be used any more; the run must restart it (or fail)."""


class BrowserCrashedError(BrowserGoneError):
    """The browser process we launched died, or the page's renderer crashed."""


class BrowserDisconnectedError(BrowserGoneError):
    """The connection to the browser closed: a CDP endpoint went away or the browser was closed."""


class LaunchError(BrowserError):
    """Chromium could not be started or the CDP address could not be reached."""


class SessionClosedError(BrowserError):
    """The session was closed by its owner and cannot be used any more."""
