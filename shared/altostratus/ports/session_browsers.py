"""Where a browser session's browser lives between runs.

`start` brings a session's browser up when the session is created, `endpoint` says how a run's
slice (or a caller's CDP client, through the API) reaches it, `stop` ends it when the session
closes. A backend that keeps no live browser answers `endpoint` None and keeps the browser state
instead: `save_state` at the end of each of a run's slices, `saved_state` for the next run's
first browser to restore (a live backend keeps the browser itself, and answers None).

Contract (every backend passes `tests/contract/test_session_browsers.py`): a cookie, local and
session storage and the page a run leaves are there for the session's next run; another
session shares none of it; a stopped session's browser is gone.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Protocol


@dataclass(frozen=True)
class CdpEndpoint:
    """A CDP WebSocket address and the handshake headers it needs."""

    url: str
    headers: dict[str, str] = field(default_factory=dict, repr=False)


class SessionBrowserError(Exception):
    """The session's browser could not be started or is gone."""


class SessionBrowsers(Protocol):
    @property
    def name(self) -> str:
        """The backend's name, recorded with each session it starts."""
        ...

    @property
    def live(self) -> bool:
        """Whether the browser (its tabs, DOM, cookies) stays up between runs."""
        ...

    def start(self, session_id: str) -> None:
        """Bring the session's browser up. Raises SessionBrowserError."""
        ...

    def endpoint(self, session_id: str) -> CdpEndpoint | None:
        """How to reach the session's live browser, or None (not live, stopped, unknown)."""
        ...

    def saved_state(self, session_id: str) -> dict[str, Any] | None:
        """The browser state the session's last run left, to restore into the next run's
        browser; None when the backend keeps the browser live, or nothing is saved yet."""
        ...

    def save_state(self, session_id: str, run_id: str, state: dict[str, Any]) -> None:
        """Keep the browser state `run_id` leaves in the session; a no-op for a live backend
        and for a session that has ended."""
        ...

    def stop(self, session_id: str) -> None:
        """End the session's browser; a no-op for one that is not running."""
        ...

    def close(self) -> None:
        """Stop every browser this backend started (the server stops)."""
        ...
