"""Proxy locations: which proxy a run's `proxy_location` means, checked against the operator's
map (ALTO_PROXY_LOCATIONS). Pure: the API checks it at submission, the browser applies it."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any
from urllib.parse import unquote, urlsplit

from pydantic import BaseModel, ConfigDict, Field

# Skyvern's named locations that mean "no proxy".
NO_PROXY_LOCATIONS = frozenset({"NONE", "NO_PROXY", ""})


class ProxyLocationNotConfiguredError(ValueError):
    """A named `proxy_location` has no proxy URL in the operator's map (a 400 at submission)."""

    def __init__(self, location: str, configured: list[str]) -> None:
        available = ", ".join(sorted(configured)) if configured else "none are configured"
        super().__init__(
            f"proxy_location {location!r} is not configured on this server (available: {available}); "
            'pass {"url": "http://user:pass@host:port"} or ask the operator to add it'
        )
        self.location = location
        self.configured = sorted(configured)


class ProxySettings(BaseModel):
    """One proxy for a browser context, in Playwright's shape (credentials split out)."""

    model_config = ConfigDict(frozen=True)

    server: str
    username: str | None = None
    password: str | None = Field(default=None, repr=False)
    bypass: str | None = None

    @classmethod
    def from_url(cls, url: str) -> ProxySettings:
        parts = urlsplit(url.strip())
        if not parts.hostname:
            raise ValueError(f"proxy URL {url!r} has no host")
        scheme = parts.scheme or "http"
        host = f"[{parts.hostname}]" if ":" in parts.hostname else parts.hostname
        server = f"{scheme}://{host}" + (f":{parts.port}" if parts.port else "")
        return cls(
            server=server,
            username=unquote(parts.username) if parts.username else None,
            password=unquote(parts.password) if parts.password else None,
        )

    def playwright(self) -> dict[str, str]:
        data = {"server": self.server}
        if self.username:
            data["username"] = self.username
        if self.password:
            data["password"] = self.password
        if self.bypass:
            data["bypass"] = self.bypass
        return data


def resolve_proxy(location: object, configured: Mapping[str, str]) -> ProxySettings | None:
    """The proxy for a run's `proxy_location`, checked against the operator's map.

    `location` is what the run request holds: None, a named location (``"RESIDENTIAL_GB"``,
    looked up case-insensitively in `configured`), ``{"url": ...}`` (or a model with a `url`),
    or a geo target ``{"country", "subdivision", "city"}``, which is looked up as
    ``"US-CA-San Francisco"``, then ``"US-CA"``, then ``"US"``.

    Raises
    ------
    ProxyLocationNotConfiguredError
        A named or geo location with no entry in `configured`; the API answers 400.
    """
    if location is None:
        return None
    data: Any = location.model_dump() if isinstance(location, BaseModel) else location
    by_key = {key.strip().upper(): url for key, url in configured.items()}
    if isinstance(data, str):
        key = data.strip().upper()
        if key in NO_PROXY_LOCATIONS:
            return None
        if key not in by_key:
            raise ProxyLocationNotConfiguredError(data, list(configured))
        return ProxySettings.from_url(by_key[key])
    if isinstance(data, Mapping):
        if data.get("url"):
            return ProxySettings.from_url(str(data["url"]))
        country = str(data.get("country") or "").strip()
        if country:
            parts = [country, str(data.get("subdivision") or ""), str(data.get("city") or "")]
            parts = [p.strip() for p in parts if p and p.strip()]
            for size in range(len(parts), 0, -1):
                key = "-".join(parts[:size]).upper()
                if key in by_key:
                    return ProxySettings.from_url(by_key[key])
            raise ProxyLocationNotConfiguredError("-".join(parts), list(configured))
    raise ProxyLocationNotConfiguredError(str(data), list(configured))
