"""The code endpoint over HTTP (httpx): a signed POST to a run's `totp_url`, with the callback
address policy applied to the URL and to every redirect target, at the moment of the call.

Each hop connects to the address the policy checked (DNS pinning, as webhooks do), so a name
that resolves elsewhere between the check and the connection cannot reach a private address.
Errors are described in our own words: the answer ends up in a run's failure reason, and a
library's message can quote the URL with its credentials.
"""

from __future__ import annotations

import json
import time
from collections.abc import Mapping
from urllib.parse import urljoin, urlsplit

import httpx

import altostratus
from altostratus.ports.code_endpoints import MAX_REDIRECTS, CodeAnswer
from altostratus.security.callback_targets import CallbackTargets, TargetRefusedError, UnresolvableHostError
from altostratus.security.targets import normalize_host

USER_AGENT = f"Altostratus-TOTP/{altostratus.__version__}"
# The signature headers are meant for the endpoint the run named, not for where it points to.
_SIGNED = frozenset({"x-skyvern-signature", "x-skyvern-timestamp", "webhook-signature", "webhook-id"})
_REDIRECTS = frozenset({301, 302, 303, 307, 308})
# A code answer is a few bytes; anything longer is not read to its end.
BODY_LIMIT = 64 * 1024


def _origin(url: str) -> tuple[str, str, int | None]:
    parts = urlsplit(url)
    return parts.scheme.lower(), normalize_host(parts.hostname or ""), parts.port


def _network_problem(exc: httpx.HTTPError, timeout_s: float) -> str:
    if isinstance(exc, httpx.TimeoutException):
        return f"no answer within {timeout_s:g} s"
    if isinstance(exc, httpx.ConnectError):
        return "could not connect (connection refused, unreachable or TLS failed)"
    if isinstance(exc, httpx.RemoteProtocolError):
        return "the endpoint closed the connection or broke the HTTP protocol"
    return f"network error ({type(exc).__name__})"


def _code_of(response: httpx.Response, body: bytes) -> CodeAnswer:
    content_type = response.headers.get("content-type", "")
    if "json" not in content_type.lower():
        return CodeAnswer(200, problem="200 that is not JSON (Content-Type is not application/json)")
    try:
        data = json.loads(body)
    except ValueError:
        return CodeAnswer(200, problem="200 whose body is not valid JSON")
    if not isinstance(data, dict):
        return CodeAnswer(200, problem="200 whose JSON is not an object")
    code = data.get("verification_code")
    if code is None or code == "":
        return CodeAnswer(200)
    if not isinstance(code, str | int):
        return CodeAnswer(200, problem="200 whose verification_code is not a string")
    return CodeAnswer(200, code=str(code).strip() or None)


class HttpCodeEndpoint:
    def __init__(
        self,
        targets: CallbackTargets,
        *,
        timeout_s: float = 10.0,
        transport: httpx.BaseTransport | None = None,
    ) -> None:
        self._targets = targets
        self._timeout_s = timeout_s
        # No pooling: each hop connects to the address checked for it, and an HTTPS connection
        # carries the identity of the host it was opened for.
        self._client = httpx.Client(
            follow_redirects=False,
            timeout=httpx.Timeout(timeout_s),
            limits=httpx.Limits(max_keepalive_connections=0),
            # Proxy variables would route around the address check and the pinning.
            trust_env=False,
            transport=transport,
        )

    def close(self) -> None:
        self._client.close()

    def ask(self, url: str, body: bytes, headers: Mapping[str, str]) -> CodeAnswer:
        method = "POST"
        content: bytes | None = body
        send_headers = {"User-Agent": USER_AGENT, **headers}
        current = url
        for hop in range(MAX_REDIRECTS + 1):
            outcome = self._send(method, current, content, send_headers)
            if isinstance(outcome, CodeAnswer):
                return outcome
            response, data = outcome
            if response.status_code not in _REDIRECTS or "location" not in response.headers:
                if response.status_code != 200:
                    return CodeAnswer(response.status_code)
                return _code_of(response, data)
            if hop == MAX_REDIRECTS:
                return CodeAnswer(response.status_code, problem=f"more than {MAX_REDIRECTS} redirects")
            target = urljoin(current, response.headers["location"])
            before, after = _origin(current), _origin(target)
            if before[0] == "https" and after[0] != "https":
                return CodeAnswer(response.status_code, problem="a redirect from https to http (refused)")
            if before != after:
                if response.status_code in (307, 308):
                    return CodeAnswer(
                        response.status_code,
                        problem=f"a {response.status_code} redirect to another origin (refused)",
                    )
                send_headers = {k: v for k, v in send_headers.items() if k.lower() not in _SIGNED}
            if response.status_code not in (307, 308):
                # As browsers and HTTP clients do: the request after a 301/302/303 is a GET.
                method, content = "GET", None
                send_headers = {k: v for k, v in send_headers.items() if k.lower() != "content-type"}
            current = target
        raise AssertionError("unreachable")

    def _send(
        self, method: str, url: str, content: bytes | None, headers: dict[str, str]
    ) -> CodeAnswer | tuple[httpx.Response, bytes]:
        started = time.monotonic()
        try:
            pinned = self._targets.pin(url)
            request_url = httpx.URL(pinned.url)
        except TargetRefusedError as exc:
            return CodeAnswer(None, problem=f"refused: {exc.reason}")
        except UnresolvableHostError:
            return CodeAnswer(None, problem="the endpoint's host name does not resolve")
        except httpx.InvalidURL:
            return CodeAnswer(None, problem="refused: the URL is malformed")
        if normalize_host(request_url.host) != normalize_host(urlsplit(pinned.url.strip()).hostname or ""):
            return CodeAnswer(None, problem="refused: the URL's host is ambiguous")
        send_headers = dict(headers)
        extensions: dict[str, object] = {}
        if pinned.host_header is not None:
            send_headers["Host"] = pinned.host_header
        if pinned.sni_hostname is not None and request_url.scheme == "https":
            extensions["sni_hostname"] = pinned.sni_hostname
        try:
            request = self._client.build_request(
                method, request_url, content=content, headers=send_headers, extensions=extensions
            )
            response = self._client.send(request, stream=True)
            try:
                data = b""
                for chunk in response.iter_bytes():
                    data += chunk
                    if len(data) > BODY_LIMIT or time.monotonic() - started > self._timeout_s:
                        break
            finally:
                response.close()
        except httpx.HTTPError as exc:
            return CodeAnswer(None, problem=_network_problem(exc, self._timeout_s))
        return response, data[:BODY_LIMIT]
