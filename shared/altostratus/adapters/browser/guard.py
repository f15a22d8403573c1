"""The network guard: every request the browser makes is checked against the address policy.

It works on the browser target through CDP's Fetch domain, so it sees requests of every page,
frame and worker, and every redirect hop (Playwright's `route` is not called for redirects).
A refused request fails with ERR_BLOCKED_BY_CLIENT and is remembered, so the action that caused
it can say why. Documents served as PDF get ``Content-Disposition: attachment``: Chromium then
downloads them instead of opening its viewer, which an agent cannot read.

The guard decides by resolving the host here, before Chromium connects; Chromium resolves it
again itself. In a browser we launched, the connect-time proxy (`pinning_proxy`) closes that
gap and reports what it refused or could not reach (`note_proxy_failure`): its refusals join the
guard's own, and a document the proxy answered for in its stead fails with the error Chromium
would have shown connecting itself.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections import deque
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

from playwright.async_api import Error as PlaywrightError

from altostratus.adapters.browser.pinning_proxy import ProxyFailure
from altostratus.security.targets import TargetPolicy

if TYPE_CHECKING:
    from playwright.async_api import Browser, CDPSession

log = logging.getLogger(__name__)

# Schemes a page can ask for that never leave the browser.
_LOCAL_SCHEMES = frozenset({"data", "blob", "about", "chrome-error", "devtools"})
_DNS_CACHE_SECONDS = 30.0
# The proxy's answer for a document comes back within this long of its failure being noted.
_PROXY_FAILURE_SECONDS = 30.0


@dataclass(frozen=True)
class Refusal:
    """A request the guard blocked."""

    url: str
    reason: str
    resource_type: str
    at: float  # time.monotonic()


class NetworkGuard:
    """Checks each request of one browser against a `TargetPolicy` (install with `install`)."""

    def __init__(self, cdp: CDPSession, policy: TargetPolicy) -> None:
        self._cdp = cdp
        self._policy = policy
        self._refusals: deque[Refusal] = deque(maxlen=200)
        self._host_cache: dict[str, tuple[float, str | None]] = {}
        self._tasks: set[asyncio.Task[None]] = set()
        self._proxy_failures: deque[ProxyFailure] = deque(maxlen=200)
        # Plain-HTTP failures whose answer (the proxy's 403/502/504) has not come back yet.
        self._unanswered: deque[ProxyFailure] = deque(maxlen=200)

    @classmethod
    async def install(cls, browser: Browser, policy: TargetPolicy) -> NetworkGuard:
        cdp = await browser.new_browser_cdp_session()
        guard = cls(cdp, policy)
        cdp.on("Fetch.requestPaused", guard._on_paused)
        await cdp.send(
            "Fetch.enable",
            {
                "patterns": [
                    {"urlPattern": "*", "requestStage": "Request"},
                    {"urlPattern": "*", "resourceType": "Document", "requestStage": "Response"},
                ]
            },
        )
        return guard

    @property
    def policy(self) -> TargetPolicy:
        return self._policy

    @policy.setter
    def policy(self, policy: TargetPolicy) -> None:
        """Swap the policy; cached decisions are dropped."""
        self._policy = policy
        self._host_cache.clear()

    def refusals_since(self, since: float) -> list[Refusal]:
        """Requests refused at or after `since` (a time.monotonic() value), here or by the proxy."""
        return [r for r in self._refusals if r.at >= since]

    def note_proxy_failure(self, failure: ProxyFailure) -> None:
        """The connect-time proxy refused a connection, or could not make it."""
        self._proxy_failures.append(failure)
        if failure.target.startswith("http://"):
            self._unanswered.append(failure)
        if failure.refused:
            self._refusals.append(Refusal(failure.target, failure.reason, "", failure.at))
            log.info("blocked a connection to %s at connect time: %s", failure.target, failure.reason)

    def proxy_failures_since(self, since: float) -> list[ProxyFailure]:
        """Connections the proxy refused or could not make at or after `since`."""
        return [f for f in self._proxy_failures if f.at >= since]

    def _proxy_failure_for(self, url: str) -> ProxyFailure | None:
        """The proxy's failure this response stands for (taken: one answer, one failure)."""
        wanted = url.split("#", 1)[0]
        recent = time.monotonic() - _PROXY_FAILURE_SECONDS
        while self._unanswered and self._unanswered[0].at < recent:
            self._unanswered.popleft()
        for failure in self._unanswered:
            if failure.target == wanted:
                self._unanswered.remove(failure)
                return failure
        return None

    async def refusal_for(self, url: str) -> str | None:
        """Why `url` would be refused, or None; resolves host names off the event loop."""
        parts = urlsplit(url)
        scheme = parts.scheme.lower()
        if scheme in _LOCAL_SCHEMES:
            return None
        if scheme not in {"http", "https", "ws", "wss"}:
            return f"{scheme}: URLs may not be opened"
        try:
            host = parts.hostname or ""
        except ValueError:
            return "the URL's host is malformed"
        now = time.monotonic()
        cached = self._host_cache.get(host)
        if cached is not None and now - cached[0] < _DNS_CACHE_SECONDS:
            return cached[1]
        reason = await asyncio.get_running_loop().run_in_executor(None, self.policy.host_refusal, host)
        self._host_cache[host] = (now, reason)
        return reason

    # -- CDP event handling --

    def _on_paused(self, event: dict[str, Any]) -> None:
        task = asyncio.ensure_future(self._handle(event))
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def _handle(self, event: dict[str, Any]) -> None:
        request_id = event["requestId"]
        try:
            if "responseStatusCode" in event or "responseErrorReason" in event:
                await self._continue_response(event)
                return
            url = event["request"]["url"]
            reason = await self.refusal_for(url)
            if reason is None:
                await self._cdp.send("Fetch.continueRequest", {"requestId": request_id})
                return
            self._refusals.append(Refusal(url, reason, event.get("resourceType", ""), time.monotonic()))
            log.info("blocked %s request: %s", event.get("resourceType", "?"), reason)
            await self._cdp.send(
                "Fetch.failRequest", {"requestId": request_id, "errorReason": "BlockedByClient"}
            )
        except PlaywrightError:
            # The request's target went away (tab closed) or the browser is closing.
            return
        except Exception:
            # A paused request must never stay paused: the page would hang. Fail closed.
            log.exception("network guard failed on a request; blocking it")
            with contextlib.suppress(PlaywrightError):
                await self._cdp.send("Fetch.failRequest", {"requestId": request_id, "errorReason": "Failed"})

    async def _continue_response(self, event: dict[str, Any]) -> None:
        request_id = event["requestId"]
        headers: list[dict[str, str]] = event.get("responseHeaders") or []
        content_type = next((h["value"] for h in headers if h["name"].lower() == "content-type"), "")
        status = event.get("responseStatusCode")
        if status in (403, 502, 504):
            failure = self._proxy_failure_for(event["request"]["url"])
            if failure is not None:
                # The proxy answered in the origin's stead: fail as Chromium would have.
                await self._cdp.send(
                    "Fetch.failRequest", {"requestId": request_id, "errorReason": failure.net_error}
                )
                return
        if status is not None and "application/pdf" in content_type.lower():
            kept = [h for h in headers if h["name"].lower() != "content-disposition"]
            await self._cdp.send(
                "Fetch.continueResponse",
                {
                    "requestId": request_id,
                    "responseCode": status,
                    "responseHeaders": [*kept, {"name": "Content-Disposition", "value": "attachment"}],
                },
            )
            return
        await self._cdp.send("Fetch.continueResponse", {"requestId": request_id})

    async def close(self) -> None:
        with contextlib.suppress(PlaywrightError):
            await self._cdp.send("Fetch.disable")
        with contextlib.suppress(PlaywrightError):
            await self._cdp.detach()
