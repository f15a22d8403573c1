"""Ending browser sessions: on request, and at their deadline (even while a run uses them).

A session past its deadline closes as `timeout` with the reason a run still using it fails
with; its browser is stopped. The embedded server calls `close_expired` every second and once
at start; on AWS each session's timer (a one-time schedule) calls `timer_fired` at its deadline;
the API closes a session it finds past its deadline when it reads it.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

from altostratus.domain import sessions as s
from altostratus.ports.session_browsers import SessionBrowsers
from altostratus.ports.session_log import SessionLog
from altostratus.ports.session_timer import SessionTimer, SessionTimerError

logger = logging.getLogger("altostratus.orchestration")


@dataclass(frozen=True)
class SessionCloser:
    log: SessionLog
    browsers: SessionBrowsers | None = None
    timer: SessionTimer | None = None

    def close(self, view: s.SessionView, reason: str | None = None) -> s.SessionView:
        """Close the session (completed, or timeout past its deadline) and stop its browser;
        a closed session is left as it is."""
        if not view.is_closed:
            status = s.close_status(view, self.log.now())
            if reason is None and status is s.SessionStatus.timeout:
                reason = s.timeout_reason(view.session_id, view.timeout)
            events: list[s.SessionEventData] = []
            if view.close_requested_at is None:
                events.append(s.SessionCloseRequested())
            events.append(s.SessionClosed(status=status, reason=reason))
            try:
                view = self.log.append(view.session_id, events)
            except s.SessionClosedError:
                view = self.log.get(view.session_id) or view
        if self.browsers is not None:
            self.browsers.stop(view.session_id)
        if self.timer is not None:
            try:
                self.timer.disarm(view.session_id)
            except SessionTimerError as exc:
                # Harmless: a timer firing for a closed session does nothing.
                logger.warning("session %s: %s", view.session_id, exc)
        return view

    def timer_fired(self, session_id: str) -> str:
        """The session's timer went off: close it if it is past its deadline, else (extended
        since the timer was set) set the timer again at the deadline. What it did: "closed",
        "rearmed" or "ended" (unknown or closed already)."""
        view = self.log.get(session_id)
        if view is None or view.is_closed:
            return "ended"
        if self.log.now() >= view.deadline:
            self.close(view)
            logger.info("session %s reached its timeout of %s minutes", session_id, view.timeout)
            return "closed"
        if self.timer is not None:
            self.timer.arm(session_id, view.deadline)
        return "rearmed"

    def close_expired(self) -> list[str]:
        """Close every open session past its deadline; their ids."""
        now = self.log.now()
        closed = []
        for view in self.log.open_sessions():
            if now >= view.deadline:
                self.close(view)
                logger.info("session %s reached its timeout of %s minutes", view.session_id, view.timeout)
                closed.append(view.session_id)
        return closed


def ended_reason(view: s.SessionView | None, session_id: str) -> str | None:
    """Why a run cannot go on in the session (gone, closed, timed out), or None."""
    if view is None:
        return s.not_found_message(session_id)
    if view.closed_status is s.SessionStatus.timeout:
        return view.closed_reason or s.timeout_reason(session_id, view.timeout)
    if view.is_closed:
        return view.closed_reason or s.closed_message(session_id)
    return None
