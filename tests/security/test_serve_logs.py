"""`alto serve` logs an operator can read: one JSON line per request (method, path, status, ms,
organization, request id) and one per run lifecycle event (run id, status, step, failure
reason); `--log-format text` writes the same lines as text; no line ever holds the API key, the
model's key, a secret of a run request or an artifact link's signature."""

from __future__ import annotations

import json
import os
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

import httpx
import pytest

from altostratus.demo.scripted import scripted_model
from altostratus.demo.site import bundled_site
from altostratus.devtools.fake_anthropic.server import FakeAnthropicServer
from tests.support.server import alto, alto_serve

pytestmark = pytest.mark.browser

HEADER_SECRET = "hdr-s3cret-9f1c2e"
METADATA_URL = "http://169.254.169.254/latest/meta-data/"
TERMINAL = {"completed", "failed", "terminated", "timed_out", "canceled"}


@dataclass
class Served:
    lines: list[str]
    key: str
    model_key: str
    completed: str
    failed: str
    signature: str


def _wait(client: httpx.Client, run_id: str) -> dict[str, Any]:
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        run: dict[str, Any] = client.get(f"/v1/runs/{run_id}").json()
        if run["status"] in TERMINAL:
            return run
        time.sleep(0.2)
    raise AssertionError(f"run {run_id} did not finish")


def _serve_and_call(data_dir: Path, env: dict[str, str], page: str, key: str) -> Served:
    with alto_serve(data_dir, env=env) as server:
        client = httpx.Client(base_url=server.base_url, headers={"x-api-key": key}, timeout=30)
        with client:
            ran = client.post(
                "/v1/run/tasks",
                json={
                    "prompt": "What is the title of this page?",
                    "url": page,
                    "extra_http_headers": {"X-Token": HEADER_SECRET},
                },
            )
            assert ran.status_code == 200, ran.text
            completed = _wait(client, ran.json()["run_id"])
            assert completed["status"] == "completed", completed
            # A start page the browser may not open: the run fails, with the reason.
            bad = client.post("/v1/run/tasks", json={"prompt": "Read it", "url": METADATA_URL})
            assert bad.status_code == 200, bad.text
            failed_id = bad.json()["run_id"]
            assert _wait(client, failed_id)["status"] == "failed"
            artifacts = client.get(f"/v1/runs/{completed['run_id']}/artifacts").json()
            link = next(a["signed_url"] for a in artifacts if a.get("signed_url"))
            assert httpx.get(link, timeout=30).status_code == 200
            signature = parse_qs(urlsplit(link).query)["signature"][0]
            assert client.get("/v1/runs/tsk_404").status_code == 404
            assert (
                httpx.get(f"{server.base_url}/v1/runs", headers={"x-api-key": "alto_wrong"}).status_code
                == 403
            )
    return Served(
        lines=server.output[0].splitlines(),
        key=key,
        model_key=env["ANTHROPIC_API_KEY"],
        completed=completed["run_id"],
        failed=failed_id,
        signature=signature,
    )


@pytest.fixture(scope="module")
def model() -> Iterator[FakeAnthropicServer]:
    with FakeAnthropicServer(scripted_model()) as server:
        yield server


@pytest.fixture(scope="module")
def page() -> Iterator[str]:
    with bundled_site() as url:
        yield url


def _env(model: FakeAnthropicServer, **extra: str) -> dict[str, str]:
    return {
        **os.environ,
        "ANTHROPIC_API_KEY": model.api_key,
        "ALTO_ANTHROPIC_BASE_URL": model.base_url,
        **extra,
    }


@pytest.fixture(scope="module")
def json_logs(tmp_path_factory: pytest.TempPathFactory, model: FakeAnthropicServer, page: str) -> Served:
    data_dir = tmp_path_factory.mktemp("alto-logs-json")
    key = alto("keys", "create", "--org", "ops", data_dir=data_dir).strip()
    return _serve_and_call(data_dir, _env(model, ALTO_LOG_FORMAT="json"), page, key)


def _records(served: Served) -> list[dict[str, Any]]:
    return [json.loads(line) for line in served.lines if line.startswith("{")]


def test_each_request_is_one_json_line_with_its_fields(json_logs: Served) -> None:
    records = _records(json_logs)
    requests = [r for r in records if r.get("name") == "altostratus.requests"]
    submitted = [r for r in requests if r["method"] == "POST" and r["path"] == "/v1/run/tasks"]
    assert len(submitted) == 2
    for record in submitted:
        assert record["status"] == 200 and record["level"] == "INFO"
        assert record["org"].startswith("o_")
        assert isinstance(record["ms"], float) and record["ms"] >= 0
        assert len(record["request_id"]) == 32
    assert len({r["request_id"] for r in requests}) == len(requests)  # one id per request
    missing = [r for r in requests if r["path"] == "/v1/runs/tsk_404"]
    assert [r["status"] for r in missing] == [404]
    refused = [r for r in requests if r["status"] == 403]
    assert refused and all("org" not in r for r in refused)  # no caller, no organization
    # The artifact link was logged by its path alone.
    assert any(r["path"].endswith("/content") and r["status"] == 200 for r in requests)


def test_each_run_lifecycle_event_is_one_line_with_status_and_step(json_logs: Served) -> None:
    runs = [r for r in _records(json_logs) if r.get("name") == "altostratus.runs"]
    completed = [r for r in runs if r["run_id"] == json_logs.completed]
    events = [r["event"] for r in completed]
    assert events[:2] == ["RunCreated", "RunQueued"] and events[-1] == "RunCompleted"
    assert "RunStarted" in events and "StepStarted" in events and "StepFinished" in events
    assert [r["status"] for r in completed if r["event"] == "RunCompleted"] == ["completed"]
    first_step = next(r for r in completed if r["event"] == "StepStarted")
    assert first_step["step"] == 1 and first_step["step_id"]
    finished_step = next(r for r in completed if r["event"] == "StepFinished")
    assert finished_step["step"] == 1 and finished_step["status"] == "completed"
    assert all(r["org"].startswith("o_") for r in completed)
    ended = [r for r in runs if r["run_id"] == json_logs.failed and r["event"] == "RunFailed"]
    assert len(ended) == 1 and ended[0]["status"] == "failed"
    assert ended[0]["failure_reason"].startswith("The start URL was refused: ")


def test_no_line_holds_a_key_or_a_secret(json_logs: Served) -> None:
    text = "\n".join(json_logs.lines)
    for secret in (json_logs.key, json_logs.model_key, HEADER_SECRET, json_logs.signature):
        assert secret not in text
    # Everything but the banner on stdout is a JSON object.
    logged = [line for line in json_logs.lines if line.startswith("{")]
    assert len(logged) > 10


def test_text_format_and_level(tmp_path: Path, model: FakeAnthropicServer, page: str) -> None:
    data_dir = tmp_path / "alto"
    key = alto("keys", "create", "--org", "ops", data_dir=data_dir).strip()
    with alto_serve(data_dir, env=_env(model, ALTO_LOG_FORMAT="text"), api_only=True) as server:
        headers = {"x-api-key": key}
        assert httpx.get(f"{server.base_url}/v1/runs", headers=headers).status_code == 200
        ran = httpx.post(
            f"{server.base_url}/v1/run/tasks", headers=headers, json={"prompt": "p", "url": page}
        )
        run_id = ran.json()["run_id"]
    text = server.output[0]
    request = next(line for line in text.splitlines() if "GET /v1/runs 200" in line)
    assert " INFO altostratus.requests " in request
    assert "method=GET" in request and "status=200" in request and "org=o_" in request
    assert f"run {run_id} queued" in text and key not in text
    # --log-level warning: no request or lifecycle lines at all.
    with alto_serve(data_dir, env=_env(model, ALTO_LOG_LEVEL="warning"), api_only=True) as quiet:
        assert httpx.get(f"{quiet.base_url}/v1/runs", headers=headers).status_code == 200
    assert "altostratus.requests" not in quiet.output[0]
