"""One webhook POST: address check and DNS pinning, a bounded time, no redirects, and a short
record of the answer. It never raises for what the network or the receiver does; it reports it.

Errors are described in our own words (never `str(exc)`), because they end up in the run's
`webhook_failure_reason`, its events and the replay report, and a library's message can quote
the URL with its credentials.
"""

from __future__ import annotations

import time
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from urllib.parse import urlsplit

import httpx

import altostratus
from altostratus.security.callback_targets import CallbackTargets, TargetRefusedError, UnresolvableHostError
from altostratus.security.targets import normalize_host
from altostratus.webhooks.policy import WebhookRetryPolicy, is_delivered, is_retryable, parse_retry_after

USER_AGENT = f"Altostratus-Webhooks/{altostratus.__version__}"


@dataclass(frozen=True)
class AttemptResult:
    """What one POST did. `status_code` is None when no answer arrived (`error` says why)."""

    status_code: int | None
    latency_ms: int
    response_body: str | None = None
    error: str | None = None
    retry_after_s: float | None = None
    # The address policy refused the target: nothing was sent.
    refused: bool = False

    @property
    def delivered(self) -> bool:
        return self.status_code is not None and is_delivered(self.status_code)

    @property
    def retryable(self) -> bool:
        if self.refused:
            return False
        return self.status_code is None or is_retryable(self.status_code)

    def describe(self) -> str:
        """The outcome in a sentence, for `webhook_failure_reason`."""
        if self.error is not None:
            return self.error
        assert self.status_code is not None
        if 300 <= self.status_code < 400:
            return f"the receiver answered {self.status_code} (a redirect; redirects are not followed)"
        return f"the receiver answered {self.status_code}"


def _network_error(exc: httpx.HTTPError, timeout_s: float) -> str:
    if isinstance(exc, httpx.TimeoutException):
        return f"no answer within {timeout_s:g} s ({type(exc).__name__})"
    if isinstance(exc, httpx.ConnectError):
        return "could not connect to the receiver (connection refused, unreachable or TLS failed)"
    if isinstance(exc, httpx.RemoteProtocolError):
        return "the receiver closed the connection or broke the HTTP protocol"
    return f"network error ({type(exc).__name__})"


class WebhookSender:
    def __init__(
        self,
        targets: CallbackTargets,
        policy: WebhookRetryPolicy,
        *,
        transport: httpx.BaseTransport | None = None,
    ) -> None:
        self.targets = targets
        self._policy = policy

        def client(keepalive: int) -> httpx.Client:
            return httpx.Client(
                follow_redirects=False,
                timeout=httpx.Timeout(policy.timeout_s),
                limits=httpx.Limits(max_keepalive_connections=keepalive),
                # Proxy variables would route around the address check and the pinning.
                trust_env=False,
                transport=transport,
            )

        # Connections are pooled by the (pinned) address. A pooled HTTPS connection carries the
        # TLS identity of the host it was opened for, so HTTPS connections are never reused (for
        # another host that shares the address); plain HTTP ones are.
        self._https = client(0)
        self._http = client(20)

    def close(self) -> None:
        self._https.close()
        self._http.close()

    def post(self, url: str, body: bytes, headers: Mapping[str, str], *, now: datetime) -> AttemptResult:
        started = time.perf_counter()

        def elapsed_ms() -> int:
            return int((time.perf_counter() - started) * 1000)

        try:
            pinned = self.targets.pin(url)
            request_url = httpx.URL(pinned.url)
        except TargetRefusedError as exc:
            return AttemptResult(None, elapsed_ms(), error=f"refused: {exc.reason}", refused=True)
        except UnresolvableHostError:
            return AttemptResult(None, elapsed_ms(), error="the receiver's host name does not resolve")
        except httpx.InvalidURL:
            return AttemptResult(None, elapsed_ms(), error="refused: the URL is malformed", refused=True)
        if normalize_host(request_url.host) != normalize_host(urlsplit(pinned.url.strip()).hostname or ""):
            # The address check and the HTTP client read different hosts out of this URL.
            return AttemptResult(
                None, elapsed_ms(), error="refused: the URL's host is ambiguous", refused=True
            )
        send_headers = {"User-Agent": USER_AGENT, **headers}
        extensions: dict[str, object] = {}
        if pinned.host_header is not None:
            send_headers["Host"] = pinned.host_header
        if pinned.sni_hostname is not None and request_url.scheme == "https":
            extensions["sni_hostname"] = pinned.sni_hostname
        try:
            client = self._https if request_url.scheme == "https" else self._http
            request = client.build_request(
                "POST", request_url, content=body, headers=send_headers, extensions=extensions
            )
            response = client.send(request, stream=True)
            try:
                kept = self._read_limited(response, deadline=started + self._policy.timeout_s)
            finally:
                response.close()
        except httpx.HTTPError as exc:
            return AttemptResult(None, elapsed_ms(), error=_network_error(exc, self._policy.timeout_s))
        return AttemptResult(
            status_code=response.status_code,
            latency_ms=elapsed_ms(),
            response_body=kept,
            retry_after_s=parse_retry_after(response.headers.get("retry-after"), now=now),
        )

    def _read_limited(self, response: httpx.Response, *, deadline: float) -> str:
        # The status is what counts; of the body only the start is kept, and a receiver that
        # drips it slowly is not waited for past the attempt's time.
        limit = self._policy.response_body_limit
        data = b""
        for chunk in response.iter_bytes():
            data += chunk
            if len(data) >= limit * 4 or time.perf_counter() > deadline:  # 4 bytes: any UTF-8 char
                break
        return data.decode("utf-8", errors="replace")[:limit]
