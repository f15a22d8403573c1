"""The browser runtime: launch Debian Chromium through Playwright (or connect over CDP), guard it.

One `BrowserRuntime` owns one browser process (or CDP connection) and its network guard;
each run gets its own `BrowserSession` (a fresh incognito context) from `new_session`.

A browser we launch reaches the network only through the runtime's connect-time proxy
(`PinningProxy`, on 127.0.0.1): the guard checks each request before it leaves, the proxy
checks again when Chromium connects and connects to exactly the address it checked, so a DNS
answer that changes in between cannot move a connection to a refused address. A browser we
connect to over CDP (`browser_address`) runs with whatever network settings it was started
with: a proxy cannot be imposed on it, and only the guard stands between it and the network.

Examples
--------
>>> async def main() -> None:  # doctest: +SKIP
...     policy = TargetPolicy.parse("", allow_loopback=True)
...     async with await BrowserRuntime.start(LaunchConfig(), policy=policy) as runtime:
...         session = await runtime.new_session(SessionConfig())
...         await session.act(Navigate(url="http://127.0.0.1:8000/"))
...         print((await session.snapshot()).text)
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
from types import TracebackType
from typing import TYPE_CHECKING

from playwright.async_api import Browser, BrowserContext, Playwright, async_playwright
from playwright.async_api import Error as PlaywrightError

from altostratus.adapters.browser.config import LaunchConfig, SessionConfig
from altostratus.adapters.browser.errors import BrowserCrashedError, BrowserDisconnectedError, LaunchError
from altostratus.adapters.browser.guard import NetworkGuard
from altostratus.adapters.browser.pinning_proxy import PinningProxy
from altostratus.security.targets import TargetPolicy

if TYPE_CHECKING:
    from altostratus.adapters.browser.session import BrowserSession
    from altostratus.adapters.browser.state import BrowserState

log = logging.getLogger(__name__)


class BrowserRuntime:
    """A running Chromium (launched or connected) whose every request passes the network guard."""

    def __init__(
        self,
        playwright: Playwright,
        browser: Browser,
        guard: NetworkGuard,
        config: LaunchConfig,
        *,
        launched: bool,
        proxy: PinningProxy | None = None,
    ) -> None:
        self.playwright = playwright
        self.browser = browser
        self.guard = guard
        self.config = config
        self.launched = launched
        # The connect-time proxy of a launched browser; None for a browser reached over CDP.
        self.proxy = proxy
        self._closing = False
        self._gone: BrowserCrashedError | BrowserDisconnectedError | None = None
        self.gone = asyncio.Event()
        browser.on("disconnected", self._on_disconnected)

    @classmethod
    async def start(cls, config: LaunchConfig, *, policy: TargetPolicy) -> BrowserRuntime:
        """Launch Chromium (or connect to `config.browser_address`) and install the guard.

        Raises
        ------
        LaunchError
            Chromium would not start, or the CDP address did not answer.
        """
        playwright = await async_playwright().start()
        proxy: PinningProxy | None = None
        try:
            if config.browser_address:
                # Not launched here: no proxy can be imposed on it; the guard alone checks it.
                browser = await playwright.chromium.connect_over_cdp(
                    config.browser_address,
                    headers=config.cdp_headers or None,
                    timeout=config.launch_timeout_s * 1000,
                )
                launched = False
            else:
                # Until the guard is installed the proxy follows the policy given here.
                proxy = await PinningProxy.start(lambda: policy)
                # Playwright creates a fresh profile for this process in the temp dir and
                # deletes it on close; in the Lambda image TMPDIR is /tmp.
                browser = await playwright.chromium.launch(
                    executable_path=config.executable(),
                    headless=config.headless,
                    args=config.args(proxy=proxy.chromium_args()),
                    downloads_path=config.temp_root() / "alto-downloads",
                    timeout=config.launch_timeout_s * 1000,
                    env=dict[str, str | float | bool](config.environment(os.environ)),
                )
                launched = True
            guard = await NetworkGuard.install(browser, policy)
            if proxy is not None:
                # The guard's policy can be swapped; the proxy follows it and reports to it.
                proxy.attach(lambda: guard.policy, guard.note_proxy_failure)
        except PlaywrightError as exc:
            await _stop(playwright, proxy)
            where = config.browser_address or config.executable()
            raise LaunchError(f"could not start the browser ({where}): {exc.message}") from exc
        except BaseException:
            await _stop(playwright, proxy)
            raise
        runtime = cls(playwright, browser, guard, config, launched=launched, proxy=proxy)
        log.info("browser %s %s", "launched" if launched else "connected", browser.version)
        return runtime

    @classmethod
    async def launch_local(
        cls,
        *,
        allowed_targets: str = "",
        allow_loopback: bool = True,
        config: LaunchConfig | None = None,
    ) -> BrowserRuntime:
        """Debian Chromium with the local defaults: loopback reachable (the embedded server's
        default, and what tests serving pages on 127.0.0.1 need) plus `allowed_targets`."""
        policy = TargetPolicy.parse(allowed_targets, allow_loopback=allow_loopback)
        return await cls.start(config or LaunchConfig(), policy=policy)

    def _on_disconnected(self, _browser: Browser) -> None:
        if self._closing:
            return
        if self.launched:
            self._gone = BrowserCrashedError(
                "the browser process exited unexpectedly (crashed or was killed)"
            )
        else:
            address = self.config.browser_address
            self._gone = BrowserDisconnectedError(f"the connection to the browser at {address} closed")
        self.gone.set()
        log.warning("%s", self._gone)

    @property
    def alive(self) -> bool:
        return self._gone is None and self.browser.is_connected()

    def check_alive(self) -> None:
        """Raise the specific error when the browser is gone (crashed or disconnected)."""
        if self._gone is not None:
            raise self._gone
        if not self.browser.is_connected():
            self._on_disconnected(self.browser)
            if self._gone is not None:
                raise self._gone

    async def new_session(
        self,
        config: SessionConfig | None = None,
        *,
        state: BrowserState | None = None,
        keep: BrowserContext | None = None,
    ) -> BrowserSession:
        """A fresh browser context for one run (optionally restored from a checkpoint), or the
        existing context `keep`, left open when the session closes."""
        from altostratus.adapters.browser.session import BrowserSession

        self.check_alive()
        return await BrowserSession.open(self, config or SessionConfig(), state=state, keep=keep)

    async def close(self) -> None:
        self._closing = True
        with contextlib.suppress(PlaywrightError, TimeoutError):
            await asyncio.wait_for(self.guard.close(), 5)
        with contextlib.suppress(PlaywrightError, TimeoutError):
            await asyncio.wait_for(self.browser.close(), 10)
        await _stop(self.playwright, self.proxy)

    async def __aenter__(self) -> BrowserRuntime:
        return self

    async def __aexit__(
        self, kind: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        await self.close()


async def _stop(playwright: Playwright, proxy: PinningProxy | None) -> None:
    if proxy is not None:
        await proxy.close()
    with contextlib.suppress(PlaywrightError):
        await playwright.stop()
