"""Browser sessions: an aggregate of its own (`pbs_` ids), made of events like a run.

A session is created, started (its browser is up), leased to one run at a time, released by
that run (leaving its browser state, where the browser does not stay up), extended, asked to
close and closed. Its view is the fold of those events; the
status a reader sees is computed at the moment of reading, so a session past its deadline says
`timeout` before anything has closed it.

The lease is what keeps two runs out of one browser: a run may take it only while the session
is open and nobody else holds it, or the holder's lease has run out. A lease ends at the
holder's own deadline, so a run that died with it cannot keep the session from the next run.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from enum import StrEnum
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, TypeAdapter

from altostratus.domain.errors import DomainError

SESSION_PREFIX = "pbs"
MIN_TIMEOUT = 5
MAX_TIMEOUT = 240
MAX_EXTENDED_TIMEOUT = 360
DEFAULT_TIMEOUT = 60
# An extension is refused this close to the deadline: the session may be closing already.
EXTENSION_MIN_REMAINING_SECONDS = 120
# Sessions the listing shows: open ones created in the last day.
ACTIVE_HOURS = 24
MAX_TIMEOUT_EXCEEDED_MESSAGE = "Longer browser durations are not available on this deployment."


def max_timeout_warning(requested: int) -> str:
    return (
        f"Requested timeout of {requested} minutes exceeds the maximum of {MAX_TIMEOUT} minutes "
        f"({MAX_TIMEOUT // 60} hours); this session was capped at {MAX_TIMEOUT} minutes. A running "
        f"session can be extended up to {MAX_EXTENDED_TIMEOUT} minutes ({MAX_EXTENDED_TIMEOUT // 60} "
        f"hours) with the extend endpoint. {MAX_TIMEOUT_EXCEEDED_MESSAGE}"
    )


def max_lifetime_warning(requested: int, granted: int) -> str:
    return (
        f"Requested an extension of {requested} minutes, but only {granted} minutes remained under "
        f"the maximum session lifetime of {MAX_EXTENDED_TIMEOUT} minutes "
        f"({MAX_EXTENDED_TIMEOUT // 60} hours); this session was extended by {granted} minutes. "
        f"{MAX_TIMEOUT_EXCEEDED_MESSAGE}"
    )


def not_found_message(session_id: str) -> str:
    return f"Browser session {session_id} not found"


def closed_message(session_id: str) -> str:
    return f"Browser session {session_id} is closed. Create a new browser session and retry."


def timeout_reason(session_id: str, minutes: int) -> str:
    return f"Browser session {session_id} reached its timeout of {minutes} minutes"


class SessionStatus(StrEnum):
    created = "created"
    running = "running"
    failed = "failed"
    completed = "completed"
    timeout = "timeout"

    @property
    def is_final(self) -> bool:
        return self in (SessionStatus.failed, SessionStatus.completed, SessionStatus.timeout)


class SessionError(DomainError):
    def __init__(self, session_id: str, message: str) -> None:
        super().__init__(message)
        self.session_id = session_id
        self.message = message


class SessionClosedError(SessionError):
    """The session has ended (closed, timed out): nothing can use it any more."""


class SessionBusyError(SessionError):
    """Another run holds the session's lease."""

    def __init__(self, session_id: str, holder: str) -> None:
        super().__init__(
            session_id,
            f"Browser session {session_id} is already occupied by {holder}. "
            "Wait for that run to finish or cancel it, then retry.",
        )
        self.holder = holder


class ExtensionRefusedError(SessionError):
    """The session cannot be extended (ended, about to end, at the lifetime cap)."""


# --- events ------------------------------------------------------------------------------


class _Payload(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class SessionSpec(_Payload):
    """What the session was created with (as the API accepted it)."""

    timeout: int = DEFAULT_TIMEOUT
    url: str | None = None
    proxy_location: Any = None
    extensions: list[str] | None = None
    browser_type: str | None = None
    browser_profile_id: str | None = None
    generate_browser_profile: bool = False


class SessionCreated(_Payload):
    type: Literal["SessionCreated"] = "SessionCreated"
    org_id: str
    spec: SessionSpec
    backend: str


class SessionStarted(_Payload):
    type: Literal["SessionStarted"] = "SessionStarted"
    # Whether a caller can connect to the session's browser over CDP.
    connectable: bool = False


class SessionLeased(_Payload):
    type: Literal["SessionLeased"] = "SessionLeased"
    run_id: str
    until: datetime


class SessionReleased(_Payload):
    type: Literal["SessionReleased"] = "SessionReleased"
    run_id: str


class SessionStateSaved(_Payload):
    """A run of the session left its browser state (sealed, in the artifact store) for the
    next run's browser to restore: the backends that keep no live browser between runs."""

    type: Literal["SessionStateSaved"] = "SessionStateSaved"
    run_id: str
    uri: str


class SessionExtended(_Payload):
    type: Literal["SessionExtended"] = "SessionExtended"
    minutes: int
    timeout: int


class SessionCloseRequested(_Payload):
    type: Literal["SessionCloseRequested"] = "SessionCloseRequested"


class SessionClosed(_Payload):
    type: Literal["SessionClosed"] = "SessionClosed"
    status: SessionStatus
    reason: str | None = None


SessionEventData = Annotated[
    SessionCreated
    | SessionStarted
    | SessionLeased
    | SessionReleased
    | SessionStateSaved
    | SessionExtended
    | SessionCloseRequested
    | SessionClosed,
    Field(discriminator="type"),
]


class SessionEvent(BaseModel):
    model_config = ConfigDict(frozen=True)

    session_id: str
    seq: int
    at: datetime
    data: SessionEventData


SESSION_EVENT_ADAPTER: TypeAdapter[SessionEvent] = TypeAdapter(SessionEvent)


# --- view --------------------------------------------------------------------------------


class SessionView(BaseModel):
    """The fold of a session's events."""

    model_config = ConfigDict(frozen=True)

    session_id: str
    org_id: str
    version: int
    backend: str
    spec: SessionSpec
    timeout: int
    created_at: datetime
    modified_at: datetime
    started_at: datetime | None = None
    connectable: bool = False
    lease_run_id: str | None = None
    lease_until: datetime | None = None
    close_requested_at: datetime | None = None
    closed_status: SessionStatus | None = None
    closed_reason: str | None = None
    completed_at: datetime | None = None
    # Every run that held the session, oldest first.
    run_ids: tuple[str, ...] = ()
    # The browser state the last run left, where the backend keeps no live browser.
    state_uri: str | None = None

    @property
    def deadline(self) -> datetime:
        """When the session times out: its timeout counts from its start."""
        return (self.started_at or self.created_at) + timedelta(minutes=self.timeout)

    @property
    def is_closed(self) -> bool:
        return self.closed_status is not None

    def status_at(self, now: datetime) -> SessionStatus:
        if self.closed_status is not None:
            return self.closed_status
        if now >= self.deadline:
            return SessionStatus.timeout
        return SessionStatus.running if self.started_at else SessionStatus.created

    def is_open_at(self, now: datetime) -> bool:
        return not self.status_at(now).is_final and self.close_requested_at is None

    def holder_at(self, now: datetime) -> str | None:
        """The run holding the lease now, or None."""
        if self.lease_run_id is None or self.lease_until is None or self.lease_until <= now:
            return None
        return self.lease_run_id

    def completed_at_as_of(self, now: datetime) -> datetime | None:
        if self.completed_at is not None:
            return self.completed_at
        return self.deadline if now >= self.deadline else None


def apply(view: SessionView | None, event: SessionEvent) -> SessionView:
    data = event.data
    if view is None:
        if not isinstance(data, SessionCreated):
            raise SessionError(event.session_id, f"{data.type} before the session was created")
        return SessionView(
            session_id=event.session_id,
            org_id=data.org_id,
            version=event.seq,
            backend=data.backend,
            spec=data.spec,
            timeout=data.spec.timeout,
            created_at=event.at,
            modified_at=event.at,
        )
    update: dict[str, Any] = {"version": event.seq, "modified_at": event.at}
    if isinstance(data, SessionCreated):
        raise SessionError(event.session_id, "the session exists already")
    if view.is_closed and not isinstance(data, SessionReleased):
        raise SessionClosedError(event.session_id, closed_message(event.session_id))
    if isinstance(data, SessionStarted):
        update |= {"started_at": view.started_at or event.at, "connectable": data.connectable}
    elif isinstance(data, SessionLeased):
        runs = view.run_ids if data.run_id in view.run_ids else (*view.run_ids, data.run_id)
        update |= {"lease_run_id": data.run_id, "lease_until": data.until, "run_ids": runs}
    elif isinstance(data, SessionReleased):
        if view.lease_run_id != data.run_id:
            return view.model_copy(update={"version": event.seq})
        update |= {"lease_run_id": None, "lease_until": None}
    elif isinstance(data, SessionStateSaved):
        update |= {"state_uri": data.uri}
    elif isinstance(data, SessionExtended):
        update |= {"timeout": data.timeout}
    elif isinstance(data, SessionCloseRequested):
        update |= {"close_requested_at": view.close_requested_at or event.at}
    elif isinstance(data, SessionClosed):
        update |= {
            "closed_status": data.status,
            "closed_reason": data.reason,
            "completed_at": event.at,
            "lease_run_id": None,
            "lease_until": None,
        }
    return view.model_copy(update=update)


def fold(events: list[SessionEvent]) -> SessionView | None:
    view: SessionView | None = None
    for event in events:
        view = apply(view, event)
    return view


# --- decisions ---------------------------------------------------------------------------


def lease(view: SessionView, run_id: str, until: datetime, now: datetime) -> SessionLeased:
    """The lease for `run_id`, held until `until` (never past the session's deadline).

    Raises SessionClosedError when the session has ended and SessionBusyError while another
    run holds it."""
    if not view.is_open_at(now):
        raise SessionClosedError(view.session_id, closed_message(view.session_id))
    holder = view.holder_at(now)
    if holder is not None and holder != run_id:
        raise SessionBusyError(view.session_id, holder)
    return SessionLeased(run_id=run_id, until=min(until, view.deadline))


def close_status(view: SessionView, now: datetime) -> SessionStatus:
    """How a session asked to close ends: timed out if its deadline passed, else completed."""
    return SessionStatus.timeout if now >= view.deadline else SessionStatus.completed


def extension(view: SessionView, minutes: int, now: datetime) -> tuple[SessionExtended, str | None]:
    """The extension by `minutes` (capped at the lifetime maximum, with a warning)."""
    if not view.is_open_at(now):
        raise ExtensionRefusedError(view.session_id, f"Browser session {view.session_id} has ended.")
    if (view.deadline - now).total_seconds() < EXTENSION_MIN_REMAINING_SECONDS:
        raise ExtensionRefusedError(
            view.session_id, f"Browser session {view.session_id} is about to expire and cannot be extended."
        )
    room = MAX_EXTENDED_TIMEOUT - view.timeout
    if room <= 0:
        raise ExtensionRefusedError(
            view.session_id,
            f"Browser session {view.session_id} cannot be extended: the session is already at the "
            f"maximum lifetime of {MAX_EXTENDED_TIMEOUT} minutes ({MAX_EXTENDED_TIMEOUT // 60} hours). "
            f"{MAX_TIMEOUT_EXCEEDED_MESSAGE}",
        )
    granted = min(minutes, room)
    warning = max_lifetime_warning(minutes, granted) if granted < minutes else None
    return SessionExtended(minutes=granted, timeout=view.timeout + granted), warning
