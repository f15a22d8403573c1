"""The embedded runtime with its outbox and webhook worker running, and fast retry timings."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar

import pytest

from altostratus.domain import events as ev
from altostratus.domain.view import RunView
from altostratus.runtimes.local import LocalRuntime, build_local
from altostratus.runtimes.settings import Settings
from tests.support.api_client import ApiClient

T = TypeVar("T")

# Retries in milliseconds, so a test with several attempts takes a moment.
FAST: dict[str, Any] = {
    "allowed_targets": "127.0.0.1",
    "webhook_max_attempts": 3,
    "webhook_backoff_base_s": 0.002,
    "webhook_backoff_max_s": 0.02,
    "webhook_timeout_s": 5.0,
    "outbox_poll_interval_s": 0.005,
}


def eventually(probe: Callable[[], T | None], *, timeout: float = 20.0, what: str = "the condition") -> T:
    """Poll until `probe` returns something truthy (a condition awaited, not a fixed sleep)."""
    deadline = time.monotonic() + timeout
    while True:
        value = probe()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        time.sleep(0.005)


@dataclass
class Embedded:
    runtime: LocalRuntime
    key: str
    client: ApiClient

    def submit(self, **body: Any) -> str:
        reply = self.client.post("/v1/run/tasks", json_body={"prompt": "Find the price", **body})
        assert reply.status == 200, reply.body
        return str(reply.json()["run_id"])

    def finish(self, run_id: str, end: ev.EventData | None = None) -> None:
        """What an executor records when a run ends."""
        end = end or ev.RunCompleted(output={"price": 10.0, "currency": "€"})
        self.runtime.event_log.append(run_id, [ev.Draft(data=ev.RunStarted()), ev.Draft(data=end)])

    def view(self, run_id: str) -> RunView:
        view = self.runtime.event_log.get_view(run_id)
        assert view is not None
        return view

    def webhook_settled(self, run_id: str) -> RunView:
        """Wait until the run's webhook is delivered or failed."""

        def settled() -> RunView | None:
            view = self.view(run_id)
            return view if view.webhook and view.webhook.status.value != "pending" else None

        return eventually(settled, what=f"the webhook of {run_id} to settle")

    def attempts(self, run_id: str) -> list[ev.WebhookAttempted]:
        return [
            e.data for e in self.runtime.event_log.read(run_id) if isinstance(e.data, ev.WebhookAttempted)
        ]


def start_embedded(data_dir: Path, **overrides: Any) -> Embedded:
    runtime = build_local(Settings(data_dir=data_dir, **{**FAST, **overrides}))
    key = runtime.ensure_dev_key()
    assert key is not None
    runtime.start_integrations()
    return Embedded(runtime=runtime, key=key, client=ApiClient(runtime.api(), key))


@pytest.fixture
def embedded(tmp_path: Path) -> Iterator[Embedded]:
    started = start_embedded(tmp_path / "data")
    yield started
    started.runtime.close()
