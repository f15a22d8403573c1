"""Typed settings of the browser: how Chromium is launched and how each session's context looks."""

from __future__ import annotations

import os
import tempfile
from collections.abc import Mapping
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

# Proxy resolution is pure and the API uses it at submission, where the browser is not
# installed (the API Lambda's layer has no Playwright): it lives in the domain.
from altostratus.domain.proxies import NO_PROXY_LOCATIONS, ProxySettings, resolve_proxy

__all__ = [
    "NO_PROXY_LOCATIONS",
    "LaunchConfig",
    "ProxySettings",
    "SessionConfig",
    "Viewport",
    "resolve_proxy",
    "session_config_for_run",
]

# Headless Chromium on a closed network: without the background-networking flags it keeps
# trying to reach Google's services and floods the log with refused connections.
BASE_FLAGS: tuple[str, ...] = (
    "--no-sandbox",
    "--disable-gpu",
    "--disable-dev-shm-usage",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
)
# Added inside the Lambda image. Not --single-process: Playwright loses track of pages in a
# single-process Chromium; it stays an opt-in to measure on real Lambda.
LAMBDA_FLAGS: tuple[str, ...] = ("--no-zygote", "--disable-extensions", "--mute-audio")
CHROMIUM = "/usr/bin/chromium"
# Debian's build of Chromium's headless shell: the old headless mode, the one Playwright runs for
# headless and the agent image bakes in. With no browser window to composite, a step's clicks,
# commits and screenshots take about half the time they take in the full browser's headless mode.
# The binary itself: the package's /usr/bin wrapper runs it as a child, so a signal to the
# process that was started would leave the browser running.
HEADLESS_SHELL = "/usr/lib/chromium/chromium-headless-shell"
# Chromium's flags that choose how it reaches the network (a proxy, or none).
_PROXY_FLAGS = frozenset(
    {"--proxy-server", "--proxy-bypass-list", "--no-proxy-server", "--proxy-pac-url", "--proxy-auto-detect"}
)


class Viewport(BaseModel):
    model_config = ConfigDict(frozen=True)

    width: int = Field(default=1280, ge=200, le=7680)
    height: int = Field(default=720, ge=200, le=4320)


# What Chromium may inherit from the environment (everything else is left out).
_BROWSER_ENV = frozenset(
    {
        "PATH", "HOME", "TMPDIR", "LANG", "LANGUAGE", "TZ", "LD_LIBRARY_PATH", "FONTCONFIG_PATH",
        "FONTCONFIG_FILE", "DISPLAY", "WAYLAND_DISPLAY", "DBUS_SESSION_BUS_ADDRESS",
    }
)  # fmt: skip
_BROWSER_ENV_PREFIXES = ("LC_", "XDG_")


class LaunchConfig(BaseModel):
    """How the browser process is started (or which one is connected to)."""

    model_config = ConfigDict(frozen=True)

    # None: the headless shell for a headless browser when it is installed, else Chromium.
    executable_path: str | None = None
    headless: bool = True
    # Inside the Lambda image: the Lambda flag set, user data and downloads under /tmp.
    lambda_mode: bool = False
    # Only for measuring on real Lambda; Playwright loses pages with it.
    single_process: bool = False
    extra_args: tuple[str, ...] = ()
    # Connect to this CDP endpoint (http(s):// or ws(s)://) instead of launching.
    browser_address: str | None = None
    cdp_headers: dict[str, str] = Field(default_factory=dict, repr=False)
    launch_timeout_s: float = Field(default=30.0, gt=0)

    def executable(self) -> str:
        if self.executable_path:
            return self.executable_path
        if self.headless and os.access(HEADLESS_SHELL, os.X_OK):
            return HEADLESS_SHELL
        return CHROMIUM

    def args(self, *, proxy: list[str] | None = None) -> list[str]:
        """Chromium's flags; `proxy` the connect-time proxy's, which then are the only proxy
        flags (any in `extra_args` would give the browser a way around it)."""
        flags = list(BASE_FLAGS)
        if self.lambda_mode:
            flags += LAMBDA_FLAGS
        if self.single_process:
            flags.append("--single-process")
        extra = [a for a in self.extra_args if a not in flags]
        if proxy is not None:
            extra = [a for a in extra if a.split("=", 1)[0] not in _PROXY_FLAGS] + proxy
        return flags + extra

    def temp_root(self) -> Path:
        # Only /tmp is writable on Lambda; elsewhere the platform's temp dir.
        return Path("/tmp") if self.lambda_mode else Path(tempfile.gettempdir())

    def environment(self, inherited: Mapping[str, str]) -> dict[str, str]:
        """Chromium's environment: only what a browser needs from `inherited`. Never the
        function role's AWS credentials, model keys or the master key: the browser renders
        untrusted pages, and a compromised renderer could read its own environment."""
        env = {k: v for k, v in inherited.items() if k in _BROWSER_ENV or k.startswith(_BROWSER_ENV_PREFIXES)}
        if self.lambda_mode:
            # Chromium writes under HOME (crash reports, caches); on Lambda only /tmp is writable.
            env |= {"HOME": "/tmp", "TMPDIR": "/tmp"}
        return env


class SessionConfig(BaseModel):
    """One run's browser context: what the run request and the operator ask of it."""

    model_config = ConfigDict(frozen=True)

    viewport: Viewport = Field(default_factory=Viewport)
    extra_http_headers: dict[str, str] = Field(default_factory=dict)
    proxy: ProxySettings | None = None
    # The proxy is one the operator configured (a named location), not a URL from the request:
    # it is connected to wherever it is; a request's own proxy is held to the address policy.
    proxy_trusted: bool = False
    # Where finished downloads are saved; a fresh temp dir when not given.
    download_dir: Path | None = None
    user_agent: str | None = None
    locale: str | None = None
    timezone_id: str | None = None
    # Switch to a tab an action opened (a link with target=_blank); the report says so.
    follow_new_tabs: bool = True
    # Timeouts of one action's steps; settling after an action is capped separately.
    action_timeout_ms: int = Field(default=5_000, ge=100)
    navigation_timeout_ms: int = Field(default=30_000, ge=1_000)
    settle_cap_ms: int = Field(default=3_000, ge=0)
    settle_quiet_ms: int = Field(default=100, ge=0)
    # "dom": roles and names inferred from the DOM snapshot (fast); "ax": also Chromium's
    # accessibility tree (exact roles and names, about twice the time).
    perception: Literal["dom", "ax"] = "dom"
    max_screenshot_scrolls: int = Field(default=3, ge=0, le=1000)


def session_config_for_run(
    *,
    extra_http_headers: Mapping[str, str | None] | None,
    proxy_location: object,
    proxy_locations: Mapping[str, str],
    download_dir: Path | None = None,
    viewport: Viewport | None = None,
    **options: Any,
) -> SessionConfig:
    """The context a run request asks for: its headers and proxy, the operator's proxy map.

    Call it when the run is submitted too: it raises `ProxyLocationNotConfiguredError` for a
    named location the operator did not configure, which the API answers with a 400.
    """
    headers = {k: v for k, v in (extra_http_headers or {}).items() if v is not None}
    return SessionConfig(
        extra_http_headers=headers,
        proxy=resolve_proxy(proxy_location, proxy_locations),
        proxy_trusted=_names_a_location(proxy_location),
        download_dir=download_dir,
        viewport=viewport or Viewport(),
        **options,
    )


def _names_a_location(location: object) -> bool:
    """A named or geo location (looked up in the operator's map), not ``{"url": ...}``."""
    data = location.model_dump() if isinstance(location, BaseModel) else location
    return not (isinstance(data, Mapping) and data.get("url"))
