"""Where a browser session's browser lives between runs.

`start` brings a session's browser up when the session is created, `endpoint` says how a run's
slice (or a caller's CDP client, through the API) reaches it, `stop` ends it when the session
closes. A backend that keeps no live browser (state restored per run) answers `endpoint` None.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Protocol


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

    def stop(self, session_id: str) -> None:
        """End the session's browser; a no-op for one that is not running."""
        ...

    def close(self) -> None:
        """Stop every browser this backend started (the server stops)."""
        ...
