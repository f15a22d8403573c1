"""Where the backend itself may send requests (webhooks, TOTP callbacks): the target policy of
`security.targets`, applied to http(s) URLs, plus DNS pinning for the request that follows.

A name is resolved once; every address it resolves to must be allowed, and the request then
goes to the first of those very addresses (the `Host` header and TLS server name keep the
name), so a DNS answer that changes between the check and the connection (DNS rebinding)
cannot move the request to a private address. Names the operator allow-listed by name are
trusted and connected to as usual.

Loopback is never allowed by default here (unlike the embedded browser): a webhook to
127.0.0.1 reaches this very server. Tests and private integrations list it in
``ALTO_ALLOWED_TARGETS``.
"""

from __future__ import annotations

import dataclasses
import ipaddress
from dataclasses import dataclass
from urllib.parse import urlsplit, urlunsplit

from altostratus.security.targets import TargetPolicy, TargetRefusedError

__all__ = ["CallbackTargets", "PinnedTarget", "TargetRefusedError", "UnresolvableHostError"]

HTTP_SCHEMES = frozenset({"http", "https"})


class UnresolvableHostError(OSError):
    """The host name has no address right now (a network error: worth retrying later)."""


@dataclass(frozen=True)
class PinnedTarget:
    """Where to connect for a URL: `url` with the host replaced by the checked address (when a
    name was resolved), and the original host for the `Host` header and TLS SNI."""

    url: str
    host_header: str | None = None
    sni_hostname: str | None = None


def _split_host(url: str) -> tuple[str, str, int | None]:
    """(scheme, host, port) or TargetRefusedError for a URL that cannot be a callback."""
    try:
        parts = urlsplit(url.strip())
        scheme = parts.scheme.lower()
        host = parts.hostname or ""
        port = parts.port
    except ValueError as exc:
        raise TargetRefusedError(url, "the URL's host or port is malformed") from exc
    if scheme not in HTTP_SCHEMES:
        raise TargetRefusedError(
            url, f"only http and https URLs may be called, not {scheme or 'a relative URL'}"
        )
    if not host:
        raise TargetRefusedError(url, "the URL has no host")
    return scheme, host, port


def _with_host(url: str, address: str) -> str:
    parts = urlsplit(url.strip())
    literal = f"[{address}]" if ipaddress.ip_address(address).version == 6 else address
    userinfo = parts.netloc.rpartition("@")[0]
    netloc = (f"{userinfo}@" if userinfo else "") + literal + (f":{parts.port}" if parts.port else "")
    return urlunsplit(parts._replace(netloc=netloc))


class CallbackTargets:
    def __init__(self, policy: TargetPolicy) -> None:
        # A callback to this machine is never implied: only an explicit allow-list entry opens it.
        self._policy = dataclasses.replace(policy, allow_loopback=False, allow_public=True)

    @property
    def policy(self) -> TargetPolicy:
        return self._policy

    def refusal(self, url: str) -> str | None:
        """Why a request to this URL is refused, or None when it is allowed (resolves names)."""
        try:
            _, host, _ = _split_host(url)
        except TargetRefusedError as exc:
            return exc.reason
        return self._policy.host_refusal(host)

    def pin(self, url: str) -> PinnedTarget:
        """Check the URL and fix the address to connect to.

        Raises
        ------
        TargetRefusedError
            The URL is not http(s), or its host is (or resolves to) a refused address.
        UnresolvableHostError
            The host name does not resolve right now.
        """
        _, host, _ = _split_host(url)
        check = self._policy.resolve_host(host)
        if check.refusal is not None:
            raise TargetRefusedError(url, check.refusal)
        if not check.resolved:
            # A literal address (checked as such) or a name the operator allow-listed.
            return PinnedTarget(url=url)
        if not check.addresses:
            raise UnresolvableHostError(f"{check.host} does not resolve to an address")
        return PinnedTarget(
            url=_with_host(url, check.addresses[0]), host_header=_netloc_host(url), sni_hostname=check.host
        )


def _netloc_host(url: str) -> str:
    parts = urlsplit(url.strip())
    host = parts.hostname or ""
    return host + (f":{parts.port}" if parts.port else "")
