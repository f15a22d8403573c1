"""POST /v1/run/tasks: what is accepted, what is refused and how, and idempotent retries."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path
from typing import Any

import pytest

from altostratus.domain.view import fold
from altostratus.ports.secret_box import executor_request
from altostratus.runtimes.local import LocalRuntime, build_local
from altostratus.runtimes.settings import Settings
from tests.support.api_client import ApiClient

ALL_NULLS: dict[str, Any] = {
    "prompt": "Find the price of the blue mug",
    "url": None,
    "engine": None,
    "title": None,
    "proxy_location": None,
    "data_extraction_schema": None,
    "error_code_mapping": None,
    "max_steps": None,
    "webhook_url": None,
    "totp_identifier": None,
    "totp_url": None,
    "browser_session_id": None,
    "model": None,
    "extra_http_headers": None,
    "cdp_connect_headers": None,
    "publish_workflow": None,
    "include_action_history_in_verification": None,
    "max_screenshot_scrolls": None,
    "browser_address": None,
    "run_with": None,
}


def test_a_task_with_explicit_nulls_is_queued_as_a_v2_run(client: ApiClient, runtime: LocalRuntime) -> None:
    reply = client.post("/v1/run/tasks", json_body=ALL_NULLS)
    assert reply.status == 200, reply.body
    run = reply.json()
    assert run["status"] == "queued"
    assert run["run_type"] == "task_v2"
    assert run["run_id"].startswith("tsk_v2_")
    assert run["run_request"]["prompt"] == ALL_NULLS["prompt"]
    assert run["run_request"]["engine"] == "skyvern-2.0"
    view = runtime.event_log.get_view(run["run_id"])
    assert view == fold(runtime.event_log.read(run["run_id"]))


@pytest.mark.parametrize(
    ("engine", "run_type"), [("skyvern-1.0", "task_v1"), ("skyvern_v1", "task_v1"), ("skyvern_v2", "task_v2")]
)
def test_both_engine_spellings_are_accepted(client: ApiClient, engine: str, run_type: str) -> None:
    reply = client.post("/v1/run/tasks", json_body={"prompt": "x", "engine": engine})
    assert reply.status == 200, reply.body
    assert reply.json()["run_type"] == run_type


def _error_for(reply: Any, field: str) -> dict[str, Any]:
    assert reply.status == 422, reply.body
    errors = reply.json()["detail"]
    matching = [e for e in errors if e["loc"][:2] == ["body", field]]
    assert matching, errors
    return matching[0]


@pytest.mark.parametrize(
    ("body", "field", "words"),
    [
        ({"prompt": "   "}, "prompt", "must not be empty"),
        ({}, "prompt", "required"),
        ({"prompt": "x", "url": "ftp://example.com/file"}, "url", "http:// or https://"),
        ({"prompt": "x", "url": "javascript:alert(1)"}, "url", "http:// or https://"),
        ({"prompt": "x", "max_steps": 0}, "max_steps", "greater than or equal to 1"),
        ({"prompt": "x", "engine": "skyvern-9"}, "engine", "engine must be one of"),
        (
            {"prompt": "x", "data_extraction_schema": {"type": "nonsense"}},
            "data_extraction_schema",
            "not a valid JSON Schema",
        ),
        (
            {
                "prompt": "x",
                "data_extraction_schema": {"type": "object", "properties": {"a": {"minLength": -1}}},
            },
            "data_extraction_schema",
            "properties/a/minLength",
        ),
        (
            {"prompt": "x", "extra_http_headers": {"X-Test": 5}},
            "extra_http_headers",
            "must be a string, not int",
        ),
        (
            {"prompt": "x", "extra_http_headers": {"Bad Header": "v"}},
            "extra_http_headers",
            "not a valid HTTP header name",
        ),
        ({"prompt": "x", "webhook_url": "not a url"}, "webhook_url", "http:// or https://"),
        ({"prompt": "x", "run_with": "robot"}, "run_with", "agent"),
    ],
)
def test_bad_fields_get_a_422_naming_the_field(
    client: ApiClient, body: dict[str, Any], field: str, words: str
) -> None:
    error = _error_for(client.post("/v1/run/tasks", json_body=body), field)
    assert words in error["msg"]


def test_a_422_never_echoes_header_values(client: ApiClient) -> None:
    headers = {"Authorization": "Bearer topsecret", "X-Count": 7}
    reply = client.post("/v1/run/tasks", json_body={"prompt": "", "extra_http_headers": headers})
    assert reply.status == 422
    assert {tuple(e["loc"][:2]) for e in reply.json()["detail"]} == {
        ("body", "prompt"),
        ("body", "extra_http_headers"),
    }
    assert b"topsecret" not in reply.body


def test_malformed_json_is_a_400(client: ApiClient) -> None:
    reply = client.post("/v1/run/tasks", raw='{"prompt": "x",')
    assert reply.status == 400
    assert "not valid JSON" in reply.json()["detail"]


def test_an_oversize_body_is_a_413_and_creates_nothing(client: ApiClient, runtime: LocalRuntime) -> None:
    reply = client.post("/v1/run/tasks", json_body={"prompt": "x" * (1024 * 1024 + 1)})
    assert reply.status == 413
    assert "limit" in reply.json()["detail"]
    assert client.get("/v1/runs").json() == []


@pytest.mark.parametrize(
    ("body", "words"),
    [
        ({"prompt": "x", "engine": "yutori-navigator"}, "not available on this deployment"),
        (
            {"prompt": "x", "engine": "openai-cua"},
            "not configured on this deployment: set ALTO_OPENAI_API_KEY",
        ),
        (
            {"prompt": "x", "engine": "ui-tars"},
            "not configured on this deployment: set ALTO_UI_TARS_BASE_URL",
        ),
        ({"prompt": "x", "proxy_location": "RESIDENTIAL_JP"}, "not configured"),
        ({"prompt": "x", "proxy_location": {"country": "US"}}, "not configured"),
        ({"prompt": "x", "publish_workflow": True, "engine": "skyvern-1.0"}, "publish_workflow needs"),
    ],
)
def test_valid_requests_this_deployment_cannot_run_are_400s(
    client: ApiClient, body: dict[str, Any], words: str
) -> None:
    reply = client.post("/v1/run/tasks", json_body=body)
    assert reply.status == 400, reply.body
    assert words in reply.json()["detail"]


def test_a_closed_browser_session_is_a_400_and_an_unknown_one_a_404(client: ApiClient) -> None:
    # Sessions are run now: an unknown one is not found, a closed one cannot be run in.
    unknown = client.post("/v1/run/tasks", json_body={"prompt": "x", "browser_session_id": "pbs_1"})
    assert unknown.status == 404, unknown.body
    assert unknown.json() == {"detail": "Browser session pbs_1 not found"}
    created = client.post("/v1/browser_sessions", json_body={"timeout": 5})
    assert created.status == 200, created.body
    session_id = created.json()["browser_session_id"]
    assert client.post(f"/v1/browser_sessions/{session_id}/close").status == 200
    closed = client.post("/v1/run/tasks", json_body={"prompt": "x", "browser_session_id": session_id})
    assert closed.status == 400, closed.body
    assert closed.json()["detail"] == (
        f"Browser session {session_id} is closed. Create a new browser session and retry."
    )
    assert client.get("/v1/runs").json() == []


def test_configured_and_explicit_proxies_are_accepted(client: ApiClient) -> None:
    for location in ("RESIDENTIAL_GB", "NONE", {"url": "http://user:secret@proxy.example:3128"}):
        reply = client.post("/v1/run/tasks", json_body={"prompt": "x", "proxy_location": location})
        assert reply.status == 200, reply.body
    assert reply.json()["run_request"]["proxy_location"]["url"] == "http://user:***@proxy.example:3128"


def test_header_values_and_url_passwords_are_masked_in_the_echo(client: ApiClient) -> None:
    headers = {"Authorization": "Bearer s3cret", "X-Api-Token": "t0ken"}
    body = {
        "prompt": "x",
        "extra_http_headers": headers,
        "webhook_url": "https://user:hookpass@hooks.example/x",
    }
    run = client.post("/v1/run/tasks", json_body=body).json()
    assert run["run_request"]["extra_http_headers"] == {"Authorization": "***", "X-Api-Token": "***"}
    assert run["run_request"]["webhook_url"] == "https://user:***@hooks.example/x"
    shown = str(client.get(f"/v1/runs/{run['run_id']}").json())
    assert "s3cret" not in shown and "t0ken" not in shown and "hookpass" not in shown


def test_max_screenshot_scrolls_is_clamped(client: ApiClient) -> None:
    run = client.post("/v1/run/tasks", json_body={"prompt": "x", "max_screenshot_scrolls": 5000}).json()
    assert run["max_screenshot_scrolls"] == 1000


def test_the_same_idempotency_key_returns_the_same_run(client: ApiClient) -> None:
    headers = {"x-idempotency-key": "order-42"}
    first = client.post("/v1/run/tasks", json_body={"prompt": "buy"}, headers=headers).json()
    # The SDK's high-level client sends explicit nulls; the same request either way.
    second = client.post("/v1/run/tasks", json_body={"prompt": "buy", "url": None}, headers=headers).json()
    assert second["run_id"] == first["run_id"]
    assert len(client.get("/v1/runs").json()) == 1


def test_an_idempotency_key_reused_for_another_request_is_a_409(client: ApiClient) -> None:
    headers = {"x-idempotency-key": "order-43"}
    assert client.post("/v1/run/tasks", json_body={"prompt": "buy"}, headers=headers).status == 200
    reply = client.post("/v1/run/tasks", json_body={"prompt": "sell"}, headers=headers)
    assert reply.status == 409
    assert "different request" in reply.json()["detail"]


def test_idempotency_keys_are_per_organization(client: ApiClient, runtime: LocalRuntime) -> None:
    other_org = runtime.keys.create_org("other")
    _, other_key = runtime.keys.create_key(other_org.org_id)
    headers = {"x-idempotency-key": "same"}
    mine = client.post("/v1/run/tasks", json_body={"prompt": "buy"}, headers=headers).json()
    theirs = client.post("/v1/run/tasks", json_body={"prompt": "buy"}, headers=headers, key=other_key).json()
    assert mine["run_id"] != theirs["run_id"]


def test_an_unknown_model_is_a_400_and_a_known_one_is_accepted(client: ApiClient) -> None:
    reply = client.post("/v1/run/tasks", json_body={"prompt": "x", "model": {"model_name": "gpt-imaginary"}})
    assert reply.status == 400
    assert "Unknown model 'gpt-imaginary'" in reply.json()["detail"]
    reply = client.post(
        "/v1/run/tasks", json_body={"prompt": "x", "model": {"model_name": "claude-haiku-4-5"}}
    )
    assert reply.status == 200


def test_a_150_kb_prompt_is_kept_apart_from_the_log_and_answered_whole(
    client: ApiClient, runtime: LocalRuntime
) -> None:
    prompt = "Find the blue mug. " + "".join(f"step {i}: look again. " for i in range(8_000))
    codes = {f"CODE_{i}": f"the page says error number {i}" for i in range(2_000)}
    reply = client.post("/v1/run/tasks", json_body={"prompt": prompt, "error_code_mapping": codes})
    assert reply.status == 200, reply.body
    run = reply.json()
    assert run["run_request"]["prompt"] == prompt and run["run_request"]["error_code_mapping"] == codes
    got = client.get(f"/v1/runs/{run['run_id']}").json()
    assert got["run_request"]["prompt"] == prompt and got["run_request"]["error_code_mapping"] == codes
    # What the log keeps is small: the parts are in the artifact store, checked by their digest.
    stored = runtime.event_log.get_view(run["run_id"])
    assert stored is not None and stored.stored_parts is not None
    assert len(stored.model_dump_json()) < 64 * 1024
    assert set(stored.stored_parts.fields) == {"prompt", "error_code_mapping"}
    document = runtime.artifacts.get(stored.stored_parts.uri)
    assert hashlib.sha256(document).hexdigest() == stored.stored_parts.sha256
    opened = executor_request(stored, runtime.services.secret_box, runtime.artifacts)
    assert opened.prompt == prompt and opened.error_code_mapping == codes
    # Listing and search still find it by the prompt's beginning.
    found = client.get("/v1/runs", query={"search_key": "find the blue mug"}).json()
    assert [r["run_id"] for r in found] == [run["run_id"]]


def test_a_request_just_under_the_body_limit_is_accepted(client: ApiClient) -> None:
    prompt = "p" * (1024 * 1024 - len(json.dumps({"prompt": ""})))
    reply = client.post("/v1/run/tasks", json_body={"prompt": prompt})
    assert reply.status == 200, reply.body
    assert client.get(f"/v1/runs/{reply.json()['run_id']}").json()["run_request"]["prompt"] == prompt


def test_a_large_request_keeps_its_credentials_sealed_when_they_move_apart(tmp_path: Path) -> None:
    rt = build_local(Settings(data_dir=tmp_path / "data", store_request_parts_above_bytes=1024))
    try:
        client = ApiClient(rt.api(), rt.ensure_dev_key())
        headers = {f"X-Token-{i}": f"secret-value-{i:04d}" for i in range(60)}
        body = {"prompt": "Log in and read the balance", "extra_http_headers": headers}
        reply = client.post("/v1/run/tasks", json_body=body)
        assert reply.status == 200, reply.body
        run_id = reply.json()["run_id"]
        assert "secret-value" not in json.dumps(reply.json())
        stored = rt.event_log.get_view(run_id)
        assert stored is not None and stored.stored_parts is not None and stored.stored_parts.sealed
        assert stored.sealed_request is None
        document = rt.artifacts.get(stored.stored_parts.uri).decode()
        assert "secret-value" not in document and "secret-value" not in stored.model_dump_json()
        opened = executor_request(stored, rt.services.secret_box, rt.artifacts)
        assert opened.extra_http_headers == headers
        assert client.get(f"/v1/runs/{run_id}").json()["run_request"]["prompt"] == body["prompt"]
    finally:
        rt.close()
