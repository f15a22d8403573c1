"""Which network addresses the browser (and later webhooks) may reach: the SSRF policy.

A target is refused when its host is, or resolves to, an address that is not public:
loopback, link-local (including the cloud metadata address 169.254.169.254), private,
carrier-grade NAT, unspecified, reserved, multicast or broadcast, in IPv4 or IPv6, including
IPv6 forms that embed an IPv4 address (``::ffff:127.0.0.1``, NAT64, 6to4). The operator opens
exceptions with ``ALTO_ALLOWED_TARGETS``: a comma-separated list of host names (``intranet``,
``*.corp.example``) and addresses or CIDRs (``10.1.2.3``, ``10.0.0.0/8``, ``fd00::/8``).

Host names are resolved and every address they resolve to must pass, so a public name that
points at a private address is refused. `TargetPolicy.resolve_host` also returns the addresses
it checked: a connection made to exactly those (never resolving the name again) cannot be moved
to a refused address by a DNS answer that changes between the check and the connection (DNS
rebinding). The webhook sender and the browser's connect-time proxy connect that way.

Only the standard library is used, so the webhook sender can share this module.

Examples
--------
>>> policy = TargetPolicy.parse("10.0.0.0/8, intranet", allow_loopback=False)
>>> policy.check_url("http://10.1.2.3/")  # allowed by the CIDR
>>> policy.url_refusal("http://169.254.169.254/latest/meta-data/")
'169.254.169.254 is a link-local address (the cloud metadata service lives there)'
>>> policy.url_refusal("http://[::ffff:127.0.0.1]:8080/")
'::ffff:7f00:1 is a loopback address (127.0.0.1 written as IPv6)'
>>> policy.check_url("http://0x7f.1/")
Traceback (most recent call last):
...
altostratus.security.targets.TargetRefusedError: refused http://0x7f.1/: 127.0.0.1 is a loopback address
"""

from __future__ import annotations

import ipaddress
import re
import socket
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from urllib.parse import unquote, urlsplit

__all__ = [
    "ALLOWED_TARGETS_ENV",
    "HostCheck",
    "Resolver",
    "TargetPolicy",
    "TargetRefusedError",
    "address_category",
    "normalize_host",
]

ALLOWED_TARGETS_ENV = "ALTO_ALLOWED_TARGETS"

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address
IPNetwork = ipaddress.IPv4Network | ipaddress.IPv6Network
# host -> the addresses it resolves to; raises OSError when it cannot be resolved.
Resolver = Callable[[str], Sequence[str]]

_WEB_SCHEMES = frozenset({"http", "https", "ws", "wss"})
_HOST_NAME = re.compile(r"[a-z0-9_]([a-z0-9_-]*[a-z0-9_])?(\.[a-z0-9_]([a-z0-9_-]*[a-z0-9_])?)*")
_C0_AND_SPACE = "".join(chr(c) for c in range(0x21))
_LOOPBACK_NETS: tuple[IPNetwork, ...] = (
    ipaddress.ip_network("127.0.0.0/8"),
    ipaddress.ip_network("::1/128"),
)
# Ranges ``ipaddress`` does not flag (or flags inconsistently across Python versions).
_EXTRA_NON_PUBLIC: tuple[tuple[IPNetwork, str], ...] = (
    (ipaddress.ip_network("100.64.0.0/10"), "a carrier-grade NAT (shared) address"),
    (ipaddress.ip_network("0.0.0.0/8"), "an unspecified/'this network' address"),
    (ipaddress.ip_network("192.0.0.0/24"), "an IETF protocol assignment address"),
    (ipaddress.ip_network("198.18.0.0/15"), "a benchmarking address"),
    (ipaddress.ip_network("255.255.255.255/32"), "the broadcast address"),
)
# What Chromium answers for "localhost" and "*.localhost" itself, without asking DNS.
_LOCALHOST_ADDRESSES = ("127.0.0.1", "::1")
_NAT64 = ipaddress.ip_network("64:ff9b::/96")
_NAT64_LOCAL = ipaddress.ip_network("64:ff9b:1::/48")
_SIX_TO_FOUR = ipaddress.ip_network("2002::/16")


class TargetRefusedError(ValueError):
    """A URL or host the policy does not allow the browser (or a webhook) to reach."""

    def __init__(self, target: str, reason: str) -> None:
        super().__init__(f"refused {target}: {reason}")
        self.target = target
        self.reason = reason


def _default_resolver(host: str) -> Sequence[str]:
    infos = socket.getaddrinfo(host, None, type=socket.SOCK_STREAM)
    return [str(info[4][0]) for info in infos]


def _parse_ipv4_number(part: str) -> int | None:
    # WHATWG URL parsing accepts hex (0x7f) and octal (0177) parts, as browsers do.
    if not part:
        return None
    try:
        if part[:2].lower() == "0x":
            return int(part[2:] or "0", 16)
        if len(part) > 1 and part[0] == "0":
            return int(part[1:], 8)
        return int(part, 10)
    except ValueError:
        return None


def _whatwg_ipv4(host: str) -> ipaddress.IPv4Address | None:
    """The address a browser reads in hosts like ``2130706433``, ``0x7f.1`` or ``127.1``."""
    parts = host.split(".")
    if parts and parts[-1] == "":
        parts = parts[:-1]
    if not 1 <= len(parts) <= 4:
        return None
    numbers = [_parse_ipv4_number(p) for p in parts]
    if any(n is None for n in numbers):
        return None
    values = [n for n in numbers if n is not None]
    if any(n > 255 for n in values[:-1]) or values[-1] >= 256 ** (5 - len(values)):
        return None
    address = values[-1]
    for index, number in enumerate(values[:-1]):
        address += number * 256 ** (3 - index)
    return ipaddress.IPv4Address(address)


def normalize_host(host: str) -> str:
    """Lower-case, percent-decoded host without brackets or a trailing dot, as a browser sees it."""
    text = unquote(host).strip().lower()
    if text.startswith("[") and text.endswith("]"):
        text = text[1:-1]
    text = text.rstrip(".")
    try:
        text = text.encode("idna").decode("ascii") if not text.isascii() else text
    except UnicodeError:
        pass
    return text


def _literal_address(host: str) -> IPAddress | None:
    try:
        return ipaddress.ip_address(host.split("%", 1)[0])  # drop an IPv6 zone id
    except ValueError:
        return _whatwg_ipv4(host)


def _embedded_ipv4(address: ipaddress.IPv6Address) -> ipaddress.IPv4Address | None:
    """The IPv4 address hidden in an IPv6 one (mapped, compatible, NAT64, 6to4)."""
    if address.ipv4_mapped is not None:
        return address.ipv4_mapped
    if address in _NAT64 or address in _NAT64_LOCAL:
        return ipaddress.IPv4Address(int(address) & 0xFFFFFFFF)
    if address.sixtofour is not None:
        return address.sixtofour
    packed = int(address)
    # Deprecated IPv4-compatible form ::a.b.c.d (but not :: or ::1).
    if packed >> 32 == 0 and packed > 1:
        return ipaddress.IPv4Address(packed)
    return None


def address_category(address: IPAddress) -> str | None:
    """Why an address is not public, in words; None for an ordinary public address."""
    if isinstance(address, ipaddress.IPv6Address):
        embedded = _embedded_ipv4(address)
        if embedded is not None:
            inner = address_category(embedded)
            return f"{inner} ({embedded} written as IPv6)" if inner else None
    if address.is_loopback:
        return "a loopback address"
    if address.is_link_local:
        if address == ipaddress.IPv4Address("169.254.169.254"):
            return "a link-local address (the cloud metadata service lives there)"
        return "a link-local address"
    if address.is_unspecified:
        return "the unspecified address"
    if address.is_multicast:
        return "a multicast address"
    for network, words in _EXTRA_NON_PUBLIC:
        if address.version == network.version and address in network:
            return words
    if address.is_reserved:
        return "a reserved address"
    if address.is_private:
        return "a private address"
    if isinstance(address, ipaddress.IPv6Address) and address.is_site_local:
        return "a site-local address"
    if not address.is_global:
        return "a non-public address"
    return None


def _host_is_localhost(host: str) -> bool:
    # Chromium answers these itself with loopback, without asking DNS.
    return host == "localhost" or host.endswith(".localhost")


@dataclass(frozen=True)
class _HostRule:
    pattern: str

    def matches(self, host: str) -> bool:
        if self.pattern.startswith("*."):
            suffix = self.pattern[1:]
            return host.endswith(suffix) and len(host) > len(suffix)
        return host == self.pattern


@dataclass(frozen=True)
class HostCheck:
    """The policy's decision on one host, and where a connection to it may go.

    `addresses` are every address the host is (a literal, or loopback for ``localhost``) or
    resolved to, each one checked; connect to one of them, never to a fresh answer for the name.
    `resolved` says they came from resolving a name (empty when it did not resolve). `listed`
    says the operator allow-listed the name itself: it is allowed whatever it resolves to, and
    was not resolved here.
    """

    host: str
    refusal: str | None = None
    addresses: tuple[str, ...] = ()
    resolved: bool = False
    listed: bool = False

    @property
    def allowed(self) -> bool:
        return self.refusal is None


@dataclass(frozen=True)
class TargetPolicy:
    """Decides whether a URL, host or address may be reached.

    Build it with `parse` from the ``ALTO_ALLOWED_TARGETS`` setting. `allow_loopback` opens
    127.0.0.0/8 and ::1 (the embedded server does this by default); `allow_public=False`
    refuses every public address too, leaving only the listed exceptions and loopback (used to
    view saved pages offline).
    """

    networks: tuple[IPNetwork, ...] = ()
    hosts: tuple[_HostRule, ...] = ()
    allow_loopback: bool = False
    allow_public: bool = True
    resolver: Resolver = field(default=_default_resolver, compare=False, repr=False)

    @classmethod
    def parse(
        cls,
        setting: str | Iterable[str] | None,
        *,
        allow_loopback: bool = False,
        allow_public: bool = True,
        resolver: Resolver | None = None,
    ) -> TargetPolicy:
        """Read the comma-separated hosts and CIDRs of ``ALTO_ALLOWED_TARGETS``.

        Raises
        ------
        ValueError
            An entry is neither a host name nor an address/CIDR; the message names it.
        """
        entries = setting.split(",") if isinstance(setting, str) else list(setting or [])
        networks: list[IPNetwork] = []
        hosts: list[_HostRule] = []
        for raw in entries:
            entry = raw.strip()
            if not entry:
                continue
            try:
                networks.append(ipaddress.ip_network(entry.strip("[]"), strict=False))
                continue
            except ValueError:
                pass
            host = normalize_host(entry)
            bare = host[2:] if host.startswith("*.") else host
            if not _HOST_NAME.fullmatch(bare):
                raise ValueError(
                    f"{ALLOWED_TARGETS_ENV}: {entry!r} is neither a host name nor an address/CIDR"
                )
            hosts.append(_HostRule(host))
        return cls(
            networks=tuple(networks),
            hosts=tuple(hosts),
            allow_loopback=allow_loopback,
            allow_public=allow_public,
            resolver=resolver or _default_resolver,
        )

    @classmethod
    def for_runtime(cls, runtime: str, setting: str | None) -> TargetPolicy:
        """The default for a runtime: "embedded" opens loopback (the API and test pages run on
        this machine); "aws" opens nothing private unless ``ALTO_ALLOWED_TARGETS`` lists it."""
        return cls.parse(setting, allow_loopback=runtime == "embedded")

    def describe(self) -> str:
        """One sentence for a start-up log line: what beyond the public internet is reachable."""
        opened = [str(n) for n in self.networks] + [h.pattern for h in self.hosts]
        if self.allow_loopback:
            opened.insert(0, "loopback (127.0.0.0/8, ::1)")
        public = "public addresses" if self.allow_public else "no public addresses"
        if not opened:
            return f"The browser may reach {public} only; loopback, private and link-local are refused."
        return f"The browser may reach {public} and: {', '.join(opened)}."

    # -- decisions --

    def address_refusal(self, address: IPAddress | str) -> str | None:
        """Why this address is refused, or None when it is allowed."""
        ip = ipaddress.ip_address(address) if isinstance(address, str) else address
        category = self._refused_category(ip)
        return None if category is None else f"{ip} is {category}"

    def _refused_category(self, ip: IPAddress) -> str | None:
        candidates = [ip]
        if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is not None:
            candidates.append(ip.ipv4_mapped)
        if any(c.version == n.version and c in n for c in candidates for n in self.networks):
            return None
        category = address_category(ip)
        if category is None:
            return None if self.allow_public else "a public address, and only local pages are allowed"
        if self.allow_loopback and _is_loopback(ip):
            return None
        return category

    def host_refusal(self, host: str) -> str | None:
        """Why this host is refused (after resolving a name), or None when it is allowed."""
        return self.resolve_host(host).refusal

    def resolve_host(self, host: str) -> HostCheck:
        """Decide on a host, resolving a name once: the refusal, or the checked addresses."""
        name = normalize_host(host)
        if not name:
            return HostCheck(name, "the URL has no host")
        if any(rule.matches(name) for rule in self.hosts):
            return HostCheck(name, listed=True)
        literal = _literal_address(name)
        if literal is not None:
            return HostCheck(name, self.address_refusal(literal), addresses=(str(literal),))
        if _host_is_localhost(name):
            if not self.allow_loopback:
                return HostCheck(name, f"{name} is a loopback name")
            return HostCheck(name, addresses=_LOCALHOST_ADDRESSES)
        try:
            answers = self.resolver(name)
        except (OSError, UnicodeError):
            # Unresolvable here: the browser cannot reach it either (or a proxy resolves it).
            if self.allow_public:
                return HostCheck(name, resolved=True)
            reason = f"{name} cannot be resolved, and only local pages are allowed"
            return HostCheck(name, reason, resolved=True)
        addresses: list[str] = []
        for raw in answers:
            try:
                ip = ipaddress.ip_address(raw.split("%", 1)[0])
            except ValueError:
                continue
            category = self._refused_category(ip)
            if category is not None:
                return HostCheck(name, f"{name} resolves to {ip}, {category}", resolved=True)
            if str(ip) not in addresses:
                addresses.append(str(ip))
        return HostCheck(name, addresses=tuple(addresses), resolved=True)

    def url_refusal(self, url: str, *, schemes: frozenset[str] = _WEB_SCHEMES) -> str | None:
        """Why this URL is refused, or None; only http(s) and ws(s) URLs can pass."""
        text = _browser_normalized(url)
        parts = urlsplit(text)
        scheme = parts.scheme.lower()
        if scheme not in schemes:
            allowed = ", ".join(sorted(schemes))
            return f"only {allowed} URLs may be opened, not {scheme or 'a relative URL'}"
        try:
            host = parts.hostname or ""
        except ValueError:
            return "the URL's host is malformed"
        return self.host_refusal(host)

    def check_url(self, url: str, *, schemes: frozenset[str] = _WEB_SCHEMES) -> None:
        """Raise `TargetRefusedError` unless the browser may open this URL."""
        reason = self.url_refusal(url, schemes=schemes)
        if reason is not None:
            raise TargetRefusedError(url, reason)


def _is_loopback(address: IPAddress) -> bool:
    if isinstance(address, ipaddress.IPv6Address):
        embedded = _embedded_ipv4(address)
        if embedded is not None:
            return embedded.is_loopback
    return any(address.version == n.version and address in n for n in _LOOPBACK_NETS)


def _browser_normalized(url: str) -> str:
    # Browsers drop tabs/newlines anywhere, trim C0 controls and spaces, and read "\" as "/"
    # in special schemes; without this, "http://127.0.0.1\@example.com" would look public.
    text = re.sub(r"[\t\n\r]", "", url).strip(_C0_AND_SPACE)
    scheme, sep, rest = text.partition(":")
    if sep and scheme.lower() in {"http", "https", "ws", "wss"}:
        rest = rest.replace("\\", "/")
        # "http:example.com" and "http:/example.com" mean "http://example.com" to a browser.
        rest = "//" + rest.lstrip("/")
        return f"{scheme}:{rest}"
    return text
