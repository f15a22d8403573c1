"""Whether a run may be submitted into a browser session, for every route that submits runs."""

from __future__ import annotations

from altostratus.api.errors import BadRequestError, NotFoundError
from altostratus.api.services import ApiServices
from altostratus.domain import sessions


def check_open_session(services: ApiServices, org_id: str, session_id: str) -> None:
    """The session must be the organization's and open; a busy one is fine (the run waits for
    it). Another organization's session is not found, as if it did not exist."""
    store = services.sessions
    session = store.get(session_id) if store is not None else None
    if store is None or session is None or session.org_id != org_id:
        raise NotFoundError(sessions.not_found_message(session_id))
    if not session.is_open_at(store.now()):
        raise BadRequestError(sessions.closed_message(session_id))
