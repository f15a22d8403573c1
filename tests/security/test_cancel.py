"""cancel_run means canceled now: the view says so in the same response cycle, the executor
stops promptly (abandoning a model call in flight), and the run has exactly one end."""

from __future__ import annotations

import threading
import time
from pathlib import Path

import httpx
import pytest
from skyvern.client import Skyvern as SkyvernClient

from altostratus.domain import events as ev
from altostratus.domain import lifecycle
from altostratus.domain.lifecycle import RunOutcome
from altostratus.runtimes.embedded import EmbeddedService
from altostratus.runtimes.local import build_local
from altostratus.runtimes.settings import Settings
from tests.compat.test_totp_run import agent
from tests.fakes.anthropic_server import FakeAnthropicServer, HttpError, MessagesRequest, Reply
from tests.fakes.policies import Page, agent_policy, done
from tests.support.api_client import ApiClient
from tests.support.fixture_site import FixtureSite
from tests.support.runs import d
from tests.support.two_factor_site import two_factor_site

pytestmark = pytest.mark.browser


def _unset(request: MessagesRequest) -> HttpError:
    return HttpError(500, "api_error", "no policy")


def test_cancel_of_a_run_waiting_on_the_model_is_immediate_and_stops_the_executor(
    tmp_path: Path, site: FixtureSite
) -> None:
    thinking = threading.Event()

    def slow_model(page: Page) -> Reply:
        thinking.set()
        time.sleep(60)  # a model call that would hold the run for a minute
        return done("never reached")

    with FakeAnthropicServer(_unset) as model:
        model.set_policy(agent_policy(slow_model))
        settings = Settings(
            data_dir=tmp_path / "data",
            port=0,
            anthropic_api_key=model.api_key,
            anthropic_base_url=model.base_url,
            max_browsers=1,
            llm_max_attempts=1,
        )
        with EmbeddedService(settings) as service:
            key = service.runtime.ensure_dev_key()
            http = httpx.Client(base_url=service.base_url, headers={"x-api-key": key}, timeout=30)
            run_id = http.post(
                "/v1/run/tasks", json={"prompt": "Read the page", "url": site.url("/index.html")}
            ).json()["run_id"]
            assert thinking.wait(30), "the run never reached the model"
            assert http.get(f"/v1/runs/{run_id}").json()["status"] == "running"
            # WHEN the user cancels while the model call is in flight
            assert http.post(f"/v1/runs/{run_id}/cancel").status_code == 200
            # THEN the very next read says canceled...
            run = http.get(f"/v1/runs/{run_id}").json()
            assert run["status"] == "canceled" and run["finished_at"] is not None
            # ...and the executor is free long before the model would have answered
            assert service.runner.wait_idle(timeout=15)
            events = service.runtime.event_log.read(run_id)
            http.close()
    terminal = [e.type for e in events if e.type in ev.TERMINAL_EVENT_TYPES]
    assert terminal == ["RunCanceled"]
    # Nothing but artifacts (the last screenshot) was recorded after the end.
    after = [e.type for e in events[[e.type for e in events].index("RunCanceled") + 1 :]]
    assert set(after) <= {"ArtifactStored"}


def test_a_cancel_racing_the_executors_end_of_a_running_run_leaves_one_terminal_event(
    tmp_path: Path,
) -> None:
    runtime = build_local(Settings(data_dir=tmp_path / "data"))
    try:
        client = ApiClient(runtime.api(), runtime.ensure_dev_key())
        for attempt in range(10):
            run_id = client.post("/v1/run/tasks", json_body={"prompt": f"race {attempt}"}).json()["run_id"]
            runtime.event_log.append(run_id, [d(ev.RunStarted())])
            barrier = threading.Barrier(2)

            def cancel(run: str = run_id, barrier: threading.Barrier = barrier) -> None:
                barrier.wait()
                assert client.post(f"/v1/runs/{run}/cancel").status == 200

            def complete(run: str = run_id, barrier: threading.Barrier = barrier) -> None:
                barrier.wait()
                runtime.event_log.end(run, lifecycle.finish(run, RunOutcome.completed({"n": 1})))

            racers = [threading.Thread(target=cancel), threading.Thread(target=complete)]
            for t in racers:
                t.start()
            for t in racers:
                t.join()
            terminal = [e.type for e in runtime.event_log.read(run_id) if e.type in ev.TERMINAL_EVENT_TYPES]
            assert len(terminal) == 1, terminal
            status = client.get(f"/v1/runs/{run_id}").json()["status"]
            assert status == {"RunCanceled": "canceled", "RunCompleted": "completed"}[terminal[0]]
    finally:
        runtime.close()


def test_a_cancel_while_a_run_waits_inline_for_its_code_stops_the_wait_at_once(tmp_path: Path) -> None:
    with FakeAnthropicServer(agent_policy(agent)) as model, two_factor_site(expected="461905") as site:
        # GIVEN a run that waits in its slice, for up to two minutes, for a code pushed for its
        # totp_identifier
        settings = Settings(
            data_dir=tmp_path / "data",
            port=0,
            anthropic_api_key=model.api_key,
            anthropic_base_url=model.base_url,
            max_browsers=1,
            totp_poll_seconds=0.2,
            totp_timeout_seconds=120,
        )
        with EmbeddedService(settings) as service:
            key = service.runtime.ensure_dev_key()
            assert key is not None
            client = SkyvernClient(base_url=service.base_url, api_key=key, timeout=30)
            run_id = client.run_task(
                prompt="Sign in; the site emails a verification code.",
                url=site.url("/2fa"),
                engine="skyvern-1.0",
                totp_identifier="waiting@example.com",
            ).run_id
            deadline = time.monotonic() + 30
            while not any(
                block.get("name") == "request_verification_code"
                for x in model.exchanges
                for block in x.response.get("content") or []
            ):
                assert time.monotonic() < deadline, "the model never asked for the code"
                time.sleep(0.05)
            # WHEN the user cancels it with the official SDK while no code has come
            client.cancel_run(run_id)
            # THEN the run is canceled, and its executor is free long before the wait would end
            assert client.get_run(run_id).status == "canceled"
            assert service.runner.wait_idle(timeout=15)
            events = service.runtime.event_log.read(run_id)
    # AND the run has one end, and nothing but artifacts was recorded after it
    terminal = [e.type for e in events if e.type in ev.TERMINAL_EVENT_TYPES]
    assert terminal == ["RunCanceled"]
    after = [e.type for e in events[[e.type for e in events].index("RunCanceled") + 1 :]]
    assert set(after) <= {"ArtifactStored"}
    assert site.attempts == []
