"""`alto run`, `alto runs`, `alto open` and `alto sessions`: submit, follow and inspect runs, and
manage browser sessions, from the command line."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
import pytest
from rich.console import Console

import altostratus
from altostratus.cli.run import elapsed, progress_table
from altostratus.demo.scripted import scripted_model
from altostratus.demo.site import bundled_site
from altostratus.devtools.fake_anthropic.server import FakeAnthropicServer
from tests.support.server import alto, alto_serve

pytestmark = pytest.mark.browser


@pytest.fixture
def model() -> Iterator[FakeAnthropicServer]:
    with FakeAnthropicServer(scripted_model()) as server:
        yield server


@pytest.fixture
def page() -> Iterator[str]:
    with bundled_site() as url:
        yield url


def _env(model: FakeAnthropicServer) -> dict[str, str]:
    return {**os.environ, "ANTHROPIC_API_KEY": model.api_key, "ALTO_ANTHROPIC_BASE_URL": model.base_url}


def _alto(*args: str, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "altostratus.cli.main", *args],
        capture_output=True,
        text=True,
        timeout=300,
        env=env,
    )


def test_alto_run_starts_the_embedded_server_follows_the_run_and_prints_its_output(
    tmp_path: Path, model: FakeAnthropicServer, page: str
) -> None:
    env = {**_env(model), "ALTO_PORT": "0"}
    result = _alto(
        "run", "What is the title of this page?", "--url", page, "--data-dir", str(tmp_path), env=env
    )
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout) == "Altostratus Outfitters — Trail lantern"
    assert "completed" in result.stderr  # the live progress goes to stderr


def test_a_run_that_does_not_complete_exits_non_zero_with_its_reason(tmp_path: Path, page: str) -> None:
    env = {k: v for k, v in os.environ.items() if k != "ANTHROPIC_API_KEY"} | {"ALTO_PORT": "0"}
    result = _alto("run", "What is the title?", "--url", page, "--data-dir", str(tmp_path), env=env)
    assert result.returncode == 1
    assert "failed" in result.stderr and "API key" in result.stderr


def test_alto_runs_lists_and_inspects_runs_of_a_running_server(
    tmp_path: Path, model: FakeAnthropicServer, page: str
) -> None:
    data_dir = tmp_path / "alto"
    key = alto("keys", "create", "--org", "acme", data_dir=data_dir).strip()
    with alto_serve(data_dir, env=_env(model)) as server:
        target = ["--base-url", server.base_url, "--api-key", key]
        schema = tmp_path / "schema.json"
        schema.write_text(json.dumps({"type": "object", "properties": {"sku": {"type": "string"}}}))
        ran = _alto(
            "run", "Extract the product", "--url", page, "--schema", str(schema), *target, env=_env(model)
        )
        assert ran.returncode == 0, ran.stderr
        listed = json.loads(_alto("runs", "list", "--json", *target, env=_env(model)).stdout)
        run_id = listed[0]["run_id"]
        got = json.loads(_alto("runs", "get", run_id, *target, env=_env(model)).stdout)
        assert got["status"] == "completed" and got["run_id"] == run_id
        timeline = _alto("runs", "timeline", run_id, *target, env=_env(model)).stdout
        assert "step 1" in timeline and "completed" in timeline
        artifacts = _alto(
            "runs", "artifacts", run_id, "--type", "screenshot_final", "--json", *target, env=_env(model)
        )
        assert [a["artifact_type"] for a in json.loads(artifacts.stdout)] == ["screenshot_final"]
        unknown = _alto("runs", "get", "tsk_404", *target, env=_env(model))
        assert unknown.returncode == 2 and "Task run not found tsk_404" in unknown.stderr


def test_alto_version_names_the_package_version() -> None:
    result = _alto("--version", env=dict(os.environ))
    assert result.returncode == 0
    assert result.stdout == f"alto {altostratus.__version__}\n"


def test_no_wait_then_watch_then_open_a_run_of_a_running_server(
    tmp_path: Path, model: FakeAnthropicServer, page: str
) -> None:
    data_dir = tmp_path / "alto"
    key = alto("keys", "create", "--org", "acme", data_dir=data_dir).strip()
    with alto_serve(data_dir, env=_env(model)) as server:
        target = ["--base-url", server.base_url, "--api-key", key]
        submitted = _alto(
            "run", "What is the title?", "--url", page, "--no-wait", "--json", *target, env=_env(model)
        )
        assert submitted.returncode == 0, submitted.stderr
        created = json.loads(submitted.stdout)
        run_id = created["run_id"]
        assert created["status"] in {"created", "queued", "running"}
        # Follow the run someone else submitted: the live view, then the output.
        watched = _alto("runs", "watch", run_id, *target, env=_env(model))
        assert watched.returncode == 0, watched.stderr
        assert json.loads(watched.stdout) == "Altostratus Outfitters — Trail lantern"
        assert "elapsed" in watched.stderr and "completed" in watched.stderr
        assert "Organization: acme (o_" in watched.stderr
        final = json.loads(_alto("runs", "watch", run_id, "--json", *target, env=_env(model)).stdout)
        assert final["status"] == "completed" and final["run_id"] == run_id
        # Without --no-wait, --json waits and prints the whole run (and no live view).
        waited = _alto("run", "What is the title?", "--url", page, "--json", *target, env=_env(model))
        assert waited.returncode == 0, waited.stderr
        assert json.loads(waited.stdout)["status"] == "completed" and "elapsed" not in waited.stderr
        # The viewer's address: the run's app_url, or the server's /runs/<id>.
        opened = _alto("open", run_id, *target, env=_env(model))
        assert opened.returncode == 0, opened.stderr
        app_url = httpx.get(f"{server.base_url}/v1/runs/{run_id}", headers={"x-api-key": key}).json()[
            "app_url"
        ]
        assert opened.stdout.strip() == (app_url or f"{server.base_url}/runs/{run_id}")
        # The printed address is the run's page: signed out it asks for a key and comes back,
        # signed in it is the run page, whose own call reads this run.
        printed = opened.stdout.strip()
        signed_out = httpx.get(printed, follow_redirects=False, timeout=30)
        assert signed_out.status_code == 302
        assert signed_out.headers["location"] == f"/signin?next=/runs/{run_id}"
        same_origin = {"origin": server.base_url}
        signin = httpx.post(
            f"{server.base_url}/viewer/api/session", json={"api_key": key}, headers=same_origin, timeout=30
        )
        assert signin.status_code == 200, signin.text
        run_page = httpx.get(printed, cookies=signin.cookies, follow_redirects=False, timeout=30)
        assert run_page.status_code == 200 and 'data-page="run"' in run_page.text
        shown = httpx.get(
            f"{server.base_url}/viewer/api/runs/{run_id}",
            cookies=signin.cookies,
            headers={**same_origin, "x-alto-csrf": signin.cookies["alto_csrf"]},
            timeout=30,
        )
        assert shown.status_code == 200 and shown.json()["run"]["run_id"] == run_id
        # --browser hands the same address to the web browser ($BROWSER here: a script).
        seen = tmp_path / "browser.txt"
        script = tmp_path / "browser.py"
        script.write_text(f"import sys, pathlib\npathlib.Path({str(seen)!r}).write_text(sys.argv[1])\n")
        browser_env = {**_env(model), "BROWSER": f"{sys.executable} {script} %s"}
        launched = _alto("open", run_id, "--browser", *target, env=browser_env)
        assert launched.returncode == 0, launched.stderr
        assert seen.read_text() == opened.stdout.strip()
        unknown = _alto("open", "tsk_404", *target, env=_env(model))
        assert unknown.returncode == 2 and "Task run not found tsk_404" in unknown.stderr


def test_an_api_key_without_a_base_url_is_called_out(tmp_path: Path) -> None:
    result = _alto("runs", "list", "--api-key", "alto_x", "--data-dir", str(tmp_path), env=dict(os.environ))
    assert "--api-key is ignored without --base-url" in result.stderr
    assert "alto_x" not in result.stderr + result.stdout


def test_the_live_view_shows_the_elapsed_time_and_the_action_in_progress() -> None:
    run = {
        "run_id": "tsk_v2_1",
        "status": "running",
        "step_count": 2,
        "created_at": "2026-01-01T10:00:00",
        "started_at": "2026-01-01T10:00:01",
        "finished_at": None,
    }
    timeline = [
        {"order": 0, "block": {"label": "step 1", "url": "https://a.example/", "actions": []}},
        {
            "order": 1,
            "block": {
                "label": "step 2",
                "url": "https://a.example/cart",
                "actions": [
                    {"action_type": "click", "element_id": "e12", "status": "pending", "reasoning": "Buy"}
                ],
            },
        },
    ]
    console = Console(record=True, width=120)
    console.print(progress_table(run, timeline))
    shown = console.export_text()
    assert "click e12 (in progress)" in shown and "Buy" in shown and "https://a.example/cart" in shown
    assert "elapsed" in shown
    assert elapsed(run, now=datetime(2026, 1, 1, 10, 0, 13, 500000, tzinfo=UTC)) == "12.5 s"
    assert elapsed({**run, "finished_at": "2026-01-01T10:02:06"}) == "2 min 05 s"
    assert elapsed({**run, "started_at": None}, now=datetime(2026, 1, 1, 10, 0, 3, tzinfo=UTC)) == "3.0 s"


def test_alto_sessions_create_list_get_and_close_sessions_of_a_running_server(
    tmp_path: Path, model: FakeAnthropicServer
) -> None:
    data_dir = tmp_path / "alto"
    key = alto("keys", "create", "--org", "acme", data_dir=data_dir).strip()
    # Wide enough that the tables print whole ids.
    env = {**_env(model), "COLUMNS": "250"}
    with alto_serve(data_dir, env=env) as server:
        target = ["--base-url", server.base_url, "--api-key", key]

        def api(session_id: str) -> dict[str, Any]:
            reply = httpx.get(
                f"{server.base_url}/v1/browser_sessions/{session_id}", headers={"x-api-key": key}
            )
            assert reply.status_code == 200
            body: dict[str, Any] = reply.json()
            return body

        # create prints the new session's id; a timeout above the cap is capped, with the warning
        made = _alto("sessions", "create", "--timeout", "30", *target, env=env)
        assert made.returncode == 0, made.stderr
        first = made.stdout.strip()
        assert first.startswith("pbs_") and "Organization: acme (o_" in made.stderr
        assert api(first)["timeout"] == 30 and api(first)["status"] == "running"
        capped = _alto("sessions", "create", "--timeout", "500", "--json", *target, env=env)
        assert capped.returncode == 0, capped.stderr
        second = json.loads(capped.stdout)
        assert second["timeout"] == 240 and "exceeds the maximum of 240 minutes" in capped.stderr
        refused = _alto("sessions", "create", "--timeout", "2", *target, env=env)
        assert refused.returncode == 2 and "HTTP 422" in refused.stderr and "timeout" in refused.stderr
        # list: a table of the open sessions, or the API's JSON
        table = _alto("sessions", "list", *target, env=env)
        assert table.returncode == 0, table.stderr
        for session_id in (first, second["browser_session_id"]):
            assert session_id in table.stdout and f"/browser-session/{session_id}" in table.stdout
        assert "30 min" in table.stdout and "240 min" in table.stdout
        listed = json.loads(_alto("sessions", "list", "--json", *target, env=env).stdout)
        assert {s["browser_session_id"] for s in listed} == {first, second["browser_session_id"]}
        # get: the session, as a table or as the API's JSON
        shown = _alto("sessions", "get", first, *target, env=env)
        assert shown.returncode == 0, shown.stderr
        assert first in shown.stdout and "running" in shown.stdout
        assert f"/v1/browser_sessions/{first}/cdp" in shown.stdout
        assert "No downloaded files." in shown.stdout and "No recordings." in shown.stdout
        got = json.loads(_alto("sessions", "get", first, "--json", *target, env=env).stdout)
        direct = api(first)
        assert {k: v for k, v in got.items() if k != "remaining_lifetime_seconds"} == {
            k: v for k, v in direct.items() if k != "remaining_lifetime_seconds"
        }
        # close: the session ends and leaves the listing; closing again is fine
        closed = _alto("sessions", "close", first, *target, env=env)
        assert closed.returncode == 0 and f"Closed {first}." in closed.stderr
        assert api(first)["status"] == "completed" and api(first)["completed_at"] is not None
        listed = json.loads(_alto("sessions", "list", "--json", *target, env=env).stdout)
        assert [s["browser_session_id"] for s in listed] == [second["browser_session_id"]]
        assert _alto("sessions", "close", first, *target, env=env).returncode == 0
        unknown = _alto("sessions", "get", "pbs_404", *target, env=env)
        assert unknown.returncode == 2 and "Browser session pbs_404 not found" in unknown.stderr
        assert _alto("sessions", "close", second["browser_session_id"], *target, env=env).returncode == 0
