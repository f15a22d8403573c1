"""Files a page downloads during a run become the run's `downloaded_files` (stored artifacts)."""

from __future__ import annotations

import asyncio
import hashlib

import pytest

from altostratus.adapters.browser.agent_browser import SessionBrowser
from altostratus.domain.enums import ArtifactType, RunStatus
from altostratus.engine.agent import run_to_end
from tests.agent.harness import Harness
from tests.fakes.anthropic_server import Reply, ToolUse
from tests.fakes.policies import Page, accept_when, act, agent_policy, done
from tests.support.fixture_site import REPORT_CSV, FixtureSite

pytestmark = pytest.mark.browser


def download_the_report(page: Page) -> Reply:
    if page.turn == 0:
        return act(ToolUse("click", {"element": page.element("Download the report", role="link")}))
    return done("The report was downloaded.")


def test_a_downloaded_file_is_stored_with_its_name_size_and_checksum(
    harness: Harness, browser_loop: asyncio.AbstractEventLoop, site: FixtureSite, chromium: SessionBrowser
) -> None:
    # GIVEN a run on a page with a download link
    run_id = harness.create_run(prompt="Download the monthly report", url=site.url("/files.html"))
    harness.server.set_policy(agent_policy(download_the_report, verifier=accept_when("report")))
    # WHEN the agent clicks it and finishes
    browser_loop.run_until_complete(run_to_end(harness.deps, run_id, browser=chromium))
    # THEN the run lists the file once, and its stored bytes are the file's
    view = harness.view(run_id)
    assert view.status is RunStatus.COMPLETED, view.failure_reason
    assert [(f.filename, f.file_size) for f in view.downloads] == [("report.csv", len(REPORT_CSV))]
    assert view.downloads[0].checksum == hashlib.sha256(REPORT_CSV).hexdigest()
    stored = [a for a in harness.event_log.list_artifacts(run_id) if a.artifact_type is ArtifactType.DOWNLOAD]
    assert len(stored) == 1 and harness.artifacts.get(stored[0].uri) == REPORT_CSV
    assert stored[0].content_type == "text/csv"
