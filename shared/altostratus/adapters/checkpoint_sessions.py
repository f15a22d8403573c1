"""Browser sessions without a browser between runs: each run's browser state is checkpointed.

What a run leaves in a session — cookies, local storage, IndexedDB, each tab's session storage
and URL, the active tab — is sealed (like a slice's checkpoint) into the artifact store at the
end of each of its slices, and recorded in the session's log; the next run's first browser is
a fresh one that starts from it. The login carries over; the pages are loaded again from their
URLs, so what lived only in them (scripts' state, a half-filled form) does not. Nothing runs
while the session is idle, and no caller can connect to it (`endpoint` is None).
"""

from __future__ import annotations

import logging
from typing import Any

from altostratus.domain import sessions as s
from altostratus.domain.ids import IdFactory
from altostratus.ports.artifacts import ArtifactStore
from altostratus.ports.errors import SequenceConflictError
from altostratus.ports.secret_box import SecretBox, open_document, seal_document
from altostratus.ports.session_browsers import CdpEndpoint
from altostratus.ports.session_log import SessionLog

log = logging.getLogger(__name__)


def _context(session_id: str) -> str:
    return f"{session_id}:state"


class CheckpointSessions:
    """`SessionBrowsers` that keeps a session's browser state in the artifact store."""

    name = "checkpoint"
    live = False

    def __init__(
        self, sessions: SessionLog, artifacts: ArtifactStore, secret_box: SecretBox | None, ids: IdFactory
    ) -> None:
        self._sessions = sessions
        self._artifacts = artifacts
        self._box = secret_box
        self._ids = ids

    def start(self, session_id: str) -> None:
        """Nothing to start: the first run's browser starts empty."""

    def endpoint(self, session_id: str) -> CdpEndpoint | None:
        return None

    def saved_state(self, session_id: str) -> dict[str, Any] | None:
        view = self._sessions.get(session_id)
        if view is None or view.state_uri is None or view.is_closed:
            return None
        document = open_document(
            self._box,
            self._artifacts.get(view.state_uri),
            context=_context(session_id),
            what=f"session {session_id}: its browser state",
        )
        state = document.get("browser")
        return state if isinstance(state, dict) else None

    def save_state(self, session_id: str, run_id: str, state: dict[str, Any]) -> None:
        view = self._sessions.get(session_id)
        # Only the run holding the session writes its state: a run whose lease ran out (and
        # was taken by the next run) must not overwrite what that run will leave.
        if view is None or view.is_closed or view.lease_run_id != run_id:
            return
        data = seal_document(self._box, {"browser": state}, context=_context(session_id))
        key = f"{view.org_id}/{session_id}/state/{self._ids.new('ss')}.json"
        uri = self._artifacts.put(key, data, content_type="application/json")
        try:
            self._sessions.append(session_id, [s.SessionStateSaved(run_id=run_id, uri=uri)])
        except (s.SessionClosedError, SequenceConflictError):
            log.info("session %s ended before run %s saved its browser state", session_id, run_id)

    def stop(self, session_id: str) -> None:
        """Nothing runs: the state saved last is no longer read once the session is closed
        (it stays sealed in the store until the bucket's retention removes it)."""

    def close(self) -> None:
        """Nothing to stop."""
