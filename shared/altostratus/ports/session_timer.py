"""The session-timer port: something that closes a browser session at its deadline, outside
of any request (AWS: one EventBridge Scheduler schedule per session).

`arm` sets (or moves) the session's one timer to `deadline`; `disarm` removes it, a no-op when
there is none. When the timer fires, the session's closer ends the session if it is past its
deadline (and arms the timer again at the session's deadline if it moved since). Raises
SessionTimerError when the scheduler cannot be reached.
"""

from __future__ import annotations

from datetime import datetime
from typing import Protocol


class SessionTimerError(Exception):
    """The timer could not be set or removed."""


class SessionTimer(Protocol):
    def arm(self, session_id: str, deadline: datetime) -> None: ...

    def disarm(self, session_id: str) -> None: ...
