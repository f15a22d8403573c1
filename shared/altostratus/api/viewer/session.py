"""Viewer sessions: an API key exchanged once for a sealed, expiring session cookie.

The cookie holds no key: it is the key's id, organization, expiry and a CSRF token, sealed
(authenticated encryption) under the deployment's master key, so it cannot be forged or read.
Every request it authorizes must also be the viewer's own: same-origin (Sec-Fetch-Site and
Origin, when the browser sends them) and carrying the CSRF token in a header (double submit:
the token is also in a cookie the viewer's script reads, and another origin can neither read
that cookie nor send a custom header without a CORS preflight this server never grants). A
revoked key ends its sessions at once.
"""

from __future__ import annotations

import hmac
import json
import secrets
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any
from urllib.parse import urlsplit

from aws_lambda_powertools.shared.cookies import Cookie, SameSite

from altostratus.api.public_base import is_https, lowered_headers, own_origin
from altostratus.domain.keys import Principal
from altostratus.ports.clock import Clock
from altostratus.ports.keys import KeyStore
from altostratus.ports.secret_box import SecretBox

SESSION_COOKIE = "alto_session"
CSRF_COOKIE = "alto_csrf"
# Over HTTPS the cookies carry the __Host- prefix: Secure, Path=/ and no Domain, enforced by
# the browser, so no other host (nor plain HTTP) can set or shadow them.
SECURE_PREFIX = "__Host-"
CSRF_HEADER = "x-alto-csrf"
SESSION_HOURS = 12
_CONTEXT = "viewer-session"


@dataclass(frozen=True)
class Session:
    key_id: str
    org_id: str
    expires_at: datetime
    csrf: str


def cookie_name(base: str, event: Mapping[str, Any]) -> str:
    return SECURE_PREFIX + base if is_https(event) else base


def request_cookies(event: Mapping[str, Any]) -> dict[str, str]:
    """The request's cookies: API Gateway (payload 2.0) passes them in `cookies`, a plain
    request in its Cookie header."""
    pairs = [str(c) for c in event.get("cookies") or []]
    header = lowered_headers(event).get("cookie")
    if header:
        pairs.append(header)
    found: dict[str, str] = {}
    for pair in pairs:
        for part in pair.split(";"):
            name, sep, value = part.strip().partition("=")
            if sep and name:
                found.setdefault(name, value.strip().strip('"'))
    return found


def same_origin(event: Mapping[str, Any], extra_origins: tuple[str, ...] = ()) -> bool:
    """Whether the browser says the request comes from a page of this origin. Browsers that
    send neither header are left to SameSite=Strict."""
    headers = lowered_headers(event)
    site = headers.get("sec-fetch-site")
    if site is not None and site.lower() not in ("same-origin", "none"):
        return False
    origin = headers.get("origin")
    if origin is None:
        return True
    allowed = {o.lower().rstrip("/") for o in extra_origins} | {own_origin(event)}
    return origin.lower().rstrip("/") in allowed


def _origin_of(url: str | None) -> str | None:
    if not url:
        return None
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.netloc}".lower() if parts.scheme and parts.netloc else None


class Sessions:
    def __init__(self, box: SecretBox, keys: KeyStore, clock: Clock) -> None:
        self._box = box
        self._keys = keys
        self._clock = clock

    def issue(self, principal: Principal) -> tuple[str, Session]:
        expires = self._clock.now() + timedelta(hours=SESSION_HOURS)
        if principal.key_expires_at is not None:
            expires = min(expires, principal.key_expires_at)
        session = Session(principal.key_id, principal.org_id, expires, secrets.token_urlsafe(24))
        body = {"k": session.key_id, "o": session.org_id, "e": expires.isoformat(), "c": session.csrf}
        return self._box.seal(json.dumps(body), context=_CONTEXT), session

    def open(self, token: str) -> Session | None:
        """The session the token holds, if it is genuine, unexpired and its key still works."""
        try:
            body = json.loads(self._box.unseal(token, context=_CONTEXT))
            session = Session(
                str(body["k"]), str(body["o"]), datetime.fromisoformat(body["e"]), str(body["c"])
            )
        except Exception:  # forged, truncated or sealed under another key: no session
            return None
        now = self._clock.now()
        if now >= session.expires_at:
            return None
        record = self._keys.get_key(session.key_id)
        if record is None or record.org_id != session.org_id or not record.active_at(now):
            return None
        return session

    def from_request(self, event: Mapping[str, Any]) -> Session | None:
        token = request_cookies(event).get(cookie_name(SESSION_COOKIE, event))
        return self.open(token) if token else None


def csrf_matches(event: Mapping[str, Any], session: Session) -> bool:
    sent = lowered_headers(event).get(CSRF_HEADER, "")
    return bool(sent) and hmac.compare_digest(sent.encode(), session.csrf.encode())


def _cookie(event: Mapping[str, Any], base: str, value: str, max_age: int, *, http_only: bool) -> Cookie:
    return Cookie(
        name=cookie_name(base, event),
        value=value,
        path="/",
        max_age=max_age,
        http_only=http_only,
        secure=is_https(event),
        same_site=SameSite.STRICT_MODE,
    )


def session_cookies(event: Mapping[str, Any], token: str, session: Session, now: datetime) -> list[Cookie]:
    max_age = max(1, int((session.expires_at - now).total_seconds()))
    return [
        _cookie(event, SESSION_COOKIE, token, max_age, http_only=True),
        # Read by the viewer's script to send back in the CSRF header; useless without the session.
        _cookie(event, CSRF_COOKIE, session.csrf, max_age, http_only=False),
    ]


def cleared_cookies(event: Mapping[str, Any]) -> list[Cookie]:
    return [
        _cookie(event, SESSION_COOKIE, "", 0, http_only=True),
        _cookie(event, CSRF_COOKIE, "", 0, http_only=False),
    ]


def configured_origins(*urls: str | None) -> tuple[str, ...]:
    return tuple(o for o in (_origin_of(u) for u in urls) if o)
