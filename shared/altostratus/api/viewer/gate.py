"""Which requests are the viewer's, and who is making them: its pages and assets are public
(a page without a session redirects to sign-in), sign-in must come from the viewer's own
origin, and every other call of the viewer needs the session cookie, its CSRF token and the
viewer's origin. The session never authorizes anything outside /viewer/api/."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from altostratus.api.viewer.session import Sessions, csrf_matches, same_origin
from altostratus.domain.keys import Principal

VIEWER_API = "/viewer/api/"
SIGN_IN = "/viewer/api/session"
NOT_SAME_ORIGIN = "The viewer answers only its own pages."
SIGNED_OUT = "Sign in to the viewer first."
CSRF_MISSING = "The viewer's CSRF token is missing or does not match this session; reload the page."


def is_viewer_page(path: str) -> bool:
    return path in ("/", "/signin", "/runs") or path.startswith(
        ("/runs/", "/browser-session/", "/viewer/static/")
    )


def is_viewer_call(path: str) -> bool:
    return path.startswith(VIEWER_API)


def authorize(
    event: Mapping[str, Any], path: str, method: str, sessions: Sessions, origins: tuple[str, ...]
) -> Principal | str | None:
    """The caller of a viewer call; a sentence saying why it is refused; or None for sign-in,
    which the route authenticates from its body."""
    if not same_origin(event, origins):
        return NOT_SAME_ORIGIN
    if path == SIGN_IN and method == "POST":
        return None
    session = sessions.from_request(event)
    if session is None:
        return SIGNED_OUT
    if not csrf_matches(event, session):
        return CSRF_MISSING
    return Principal(org_id=session.org_id, key_id=session.key_id, key_expires_at=session.expires_at)
