"""What the runs of a browser session left behind, shared by the API's session routes and the
viewer's session page: the runs themselves, their downloads and recordings, their screenshots."""

from __future__ import annotations

from altostratus.api.services import ApiServices
from altostratus.domain import sessions as s
from altostratus.domain.view import RunView
from altostratus.wire.sessions import FileInfo, session_files


def session_runs(services: ApiServices, view: s.SessionView) -> list[RunView]:
    """The runs that held the session, newest first."""
    runs = [services.event_log.get_view(run_id) for run_id in reversed(view.run_ids)]
    return [run for run in runs if run is not None and run.org_id == view.org_id]


def files_of(services: ApiServices, runs: list[RunView]) -> tuple[list[FileInfo], list[FileInfo]]:
    """(downloaded_files, recordings) of the runs, each newest first."""
    return session_files(runs, services.artifacts, services.event_log.get_artifact)
