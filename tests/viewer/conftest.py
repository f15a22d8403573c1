"""A real `alto serve` executing runs with the scripted fake model, for the run viewer's tests,
and a folder that keeps the pages' screenshots as test artifacts."""

from __future__ import annotations

import os
import tempfile
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.agent.scenarios import AGENT_PAGES, FORM
from tests.fakes.anthropic_server import FakeAnthropicServer
from tests.support.fixture_site import FixtureSite
from tests.support.server import RunningServer, alto, alto_serve
from tests.support.webhook_receiver import WebhookReceiver, running

TERMINAL = {"completed", "failed", "terminated", "timed_out", "canceled"}


@dataclass
class Viewer:
    server: RunningServer
    key: str
    other_key: str
    site: FixtureSite
    receiver: WebhookReceiver
    artifacts_dir: Path

    @property
    def base_url(self) -> str:
        return self.server.base_url

    def api(self, method: str, path: str, *, key: str | None = None, **kwargs: Any) -> httpx.Response:
        headers = {"x-api-key": key or self.key, **kwargs.pop("headers", {})}
        return httpx.request(method, f"{self.base_url}{path}", headers=headers, timeout=30, **kwargs)

    def submit(
        self, *, title: str | None = None, webhook: bool = False, key: str | None = None
    ) -> dict[str, Any]:
        request: dict[str, Any] = {
            "prompt": FORM.prompt,
            "url": self.site.url(f"/{AGENT_PAGES}/{FORM.start}"),
        }
        if title:
            request["title"] = title
        if webhook:
            request["webhook_url"] = self.receiver.url
        reply = self.api("POST", "/v1/run/tasks", json=request, key=key)
        assert reply.status_code == 200, reply.text
        body: dict[str, Any] = reply.json()
        return body

    def run(self, run_id: str) -> dict[str, Any]:
        reply = self.api("GET", f"/v1/runs/{run_id}")
        assert reply.status_code == 200, reply.text
        body: dict[str, Any] = reply.json()
        return body

    def wait_for(
        self, run_id: str, check: Callable[[dict[str, Any]], bool], timeout_s: float = 120
    ) -> dict[str, Any]:
        deadline = time.monotonic() + timeout_s
        while True:
            run = self.run(run_id)
            if check(run):
                return run
            if time.monotonic() > deadline:
                raise AssertionError(f"run {run_id} is still {run['status']}")
            time.sleep(0.1)


@pytest.fixture(scope="session")
def viewer_artifacts() -> Path:
    """Where the viewer's page screenshots are kept (printed, so a CI job can collect them)."""
    root = Path(os.environ.get("ALTO_TEST_ARTIFACTS") or tempfile.gettempdir()) / "artifacts" / "viewer"
    root.mkdir(parents=True, exist_ok=True)
    print(f"\nviewer screenshots: {root}")
    return root


@pytest.fixture(scope="module")
def viewer(
    tmp_path_factory: pytest.TempPathFactory, site: FixtureSite, viewer_artifacts: Path
) -> Iterator[Viewer]:
    data_dir = tmp_path_factory.mktemp("alto-viewer")
    key = alto("keys", "create", "--org", "viewer", data_dir=data_dir).strip()
    other_key = alto("keys", "create", "--org", "someone-else", data_dir=data_dir).strip()
    # A little latency per model answer: a run stays `running` long enough to be watched.
    with (
        FakeAnthropicServer(FORM.policy(), delay_s=0.4) as model,
        running(WebhookReceiver()) as receiver,
    ):
        env = {
            "ANTHROPIC_API_KEY": model.api_key,
            "ALTO_ANTHROPIC_BASE_URL": model.base_url,
            "ALTO_ALLOWED_TARGETS": "127.0.0.1",
        }
        with alto_serve(data_dir, env=env) as server:
            yield Viewer(server, key, other_key, site, receiver, viewer_artifacts)
