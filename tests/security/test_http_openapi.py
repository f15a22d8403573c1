"""/openapi.json tells the truth about the existing routes: the SDK's operation names, the key
scheme Swagger's Authorize uses, every status with its error body, typed answers that match
what is sent byte for byte, and request examples the server accepts."""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import jsonschema
import pytest
from skyvern.client import Skyvern as SkyvernClient

from altostratus.domain import timeline as domain_timeline
from altostratus.runtimes.local import LocalRuntime, build_local
from altostratus.runtimes.settings import Settings
from altostratus.wire import responses as wire
from altostratus.wire.render import artifact_response, run_response
from tests.support.api_client import ApiClient
from tests.support.http_security import SeededRun, seed_run
from tests.support.webhook_receiver import WebhookReceiver, running

AUTH = {"403", "429", "503"}
BODY = {"400", "413", "415", "422"}
# (method, path) -> (operationId, statuses besides 200)
OPERATIONS: dict[tuple[str, str], tuple[str, set[str]]] = {
    ("post", "/v1/run/tasks"): ("run_task", AUTH | BODY | {"404", "409"}),  # 404: the browser session
    ("get", "/v1/runs"): ("get_runs_v2", AUTH | {"400", "422"}),  # 400: a cursor it did not issue
    ("get", "/v1/runs/{run_id}"): ("get_run", AUTH | {"404"}),
    ("post", "/v1/runs/{run_id}/cancel"): ("cancel_run", AUTH | {"404", "409"}),
    ("get", "/v1/runs/{run_id}/timeline"): ("get_run_timeline", AUTH | {"404"}),
    ("get", "/v1/runs/{run_id}/artifacts"): ("get_run_artifacts", AUTH | {"404", "422"}),
    ("post", "/v1/runs/{run_id}/retry_webhook"): ("retry_run_webhook", AUTH | BODY | {"404"}),
    ("get", "/v1/artifacts/{artifact_id}"): ("get_artifact", AUTH | {"404"}),
    ("post", "/v1/credentials/totp"): ("send_totp_code", AUTH | BODY | {"502"}),
    ("post", "/v1/credentials"): ("create_credential", AUTH | BODY),
    ("get", "/v1/credentials"): ("get_credentials", AUTH | {"422"}),
    ("get", "/v1/credentials/{credential_id}"): ("get_credential", AUTH | {"404"}),
    ("post", "/v1/credentials/{credential_id}/update"): ("update_credential", AUTH | BODY | {"404", "409"}),
    ("post", "/v1/credentials/{credential_id}/delete"): ("delete_credential", AUTH | {"404"}),
    ("post", "/v1/run/tasks/login"): ("login", AUTH | BODY | {"404"}),
    ("get", "/v1/artifacts/{artifact_id}/content"): (
        "get_artifact_content",
        AUTH | {"206", "302", "304", "404", "416", "422"},
    ),
    ("post", "/v1/browser_sessions"): ("create_browser_session", AUTH | BODY | {"404"}),
    ("get", "/v1/browser_sessions"): ("get_browser_sessions", AUTH),
    ("get", "/v1/browser_sessions/{browser_session_id}"): ("get_browser_session", AUTH | {"404"}),
    ("post", "/v1/browser_sessions/{browser_session_id}/close"): (
        "close_browser_session",
        AUTH | {"404"},
    ),
    ("post", "/v1/browser_sessions/{browser_session_id}/extend"): (
        "extend_browser_session",
        AUTH | BODY | {"404", "409"},
    ),
    ("post", "/v1/run/agents"): ("run_workflow", AUTH | BODY | {"404"}),
    ("get", "/v1/agents"): ("get_workflows", AUTH | {"422"}),
    ("get", "/v1/agents/{workflow_permanent_id}"): ("get_workflow", AUTH | {"404", "422"}),
    ("get", "/v1/scripts"): ("get_scripts", AUTH | {"422"}),
    ("post", "/v1/scripts"): ("create_script", AUTH | BODY | {"404"}),
    ("get", "/v1/scripts/{script_id}"): ("get_script", AUTH | {"404"}),
    ("post", "/v1/scripts/{script_id}/deploy"): ("deploy_script", AUTH | BODY | {"404"}),
    ("post", "/v1/scripts/{script_id}/run"): ("run_script", AUTH | {"400", "404"}),
    ("get", "/v1/version"): ("get_version", set()),
    ("get", "/v1/organizations/me"): ("get_current_organization", AUTH),
}
# The success status of the operations whose success is not 200 (as Skyvern answers them).
SUCCESS = {("post", "/v1/credentials"): "201", ("post", "/v1/credentials/{credential_id}/delete"): "204"}
# Skyvern routes this deployment answers 501 (tests/security/test_http_not_implemented.py).
NOT_IMPLEMENTED_TAG = "not implemented"


@dataclass
class Documented:
    spec: dict[str, Any]
    client: ApiClient
    runtime: LocalRuntime
    run: SeededRun
    receiver: WebhookReceiver


@pytest.fixture(scope="module")
def documented(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Documented]:
    with running(WebhookReceiver()) as receiver:
        runtime = build_local(
            Settings(data_dir=tmp_path_factory.mktemp("alto-openapi"), allowed_targets="127.0.0.1")
        )
        try:
            key = runtime.ensure_dev_key()
            assert key is not None
            caller = runtime.keys.authenticate(key)
            assert caller is not None
            run = seed_run(
                runtime.event_log,
                runtime.artifacts,
                org_id=caller.org_id,
                run_id=f"tsk_v2_{runtime.ids.number()}",
                number=runtime.ids.number,
                webhook_url=receiver.url,
                api_key_id=caller.key_id,
            )
            client = ApiClient(runtime.api(), key)
            spec = client.get("/openapi.json", key=None).json()
            yield Documented(spec=spec, client=client, runtime=runtime, run=run, receiver=receiver)
        finally:
            runtime.close()


def _operations(spec: dict[str, Any]) -> dict[tuple[str, str], dict[str, Any]]:
    """The operations this deployment serves (the 501 ones are checked on their own)."""
    return {
        (method, path): op
        for path, ops in spec["paths"].items()
        for method, op in ops.items()
        if NOT_IMPLEMENTED_TAG not in op.get("tags", [])
    }


def _validator(spec: dict[str, Any], schema: dict[str, Any]) -> jsonschema.Draft202012Validator:
    return jsonschema.Draft202012Validator({**schema, "components": spec["components"]})


def test_operation_ids_are_the_official_sdks_method_names(documented: Documented) -> None:
    operations = _operations(documented.spec)
    assert {k: op["operationId"] for k, op in operations.items()} == {k: v[0] for k, v in OPERATIONS.items()}
    sdk = SkyvernClient(base_url="http://unused", api_key="unused")
    for name in (
        "run_task",
        "get_run",
        "cancel_run",
        "get_run_timeline",
        "get_run_artifacts",
        "retry_run_webhook",
        "create_browser_session",
        "get_browser_sessions",
        "get_browser_session",
        "close_browser_session",
        "extend_browser_session",
        "send_totp_code",
        "create_credential",
        "get_credentials",
        "get_credential",
        "update_credential",
        "delete_credential",
        "login",
        "get_runs_v2",
        "get_version",
    ):
        assert callable(getattr(sdk, name))
    assert callable(sdk.artifacts.get_artifact_content)


def test_every_route_documents_each_status_it_can_answer(documented: Documented) -> None:
    for key, op in _operations(documented.spec).items():
        assert set(op["responses"]) == {SUCCESS.get(key, "200"), *OPERATIONS[key][1]}, key


def test_error_answers_are_typed_and_throttling_says_when_to_retry(documented: Documented) -> None:
    spec = documented.spec
    for key, op in _operations(spec).items():
        for status, answer in op["responses"].items():
            if status[0] not in "45":
                continue
            model = "ValidationErrorBody" if status == "422" else "ErrorBody"
            assert answer["content"]["application/json"]["schema"] == {
                "$ref": f"#/components/schemas/{model}"
            }, (
                key,
                status,
            )
            if status in {"429", "503"}:
                assert "Retry-After" in answer["headers"], (key, status)
    assert spec["components"]["schemas"]["ErrorBody"]["required"] == ["detail"]
    assert spec["components"]["schemas"]["ErrorBody"]["properties"]["detail"]["type"] == "string"


def test_the_api_key_scheme_is_declared_for_swaggers_authorize(documented: Documented) -> None:
    spec = documented.spec
    schemes = spec["components"]["securitySchemes"]
    assert schemes["ApiKeyHeader"] == {
        "type": "apiKey",
        "in": "header",
        "name": "x-api-key",
        "description": schemes["ApiKeyHeader"]["description"],
    }
    assert schemes["BearerToken"]["scheme"] == "bearer"
    assert spec["security"] == [{"ApiKeyHeader": []}, {"BearerToken": []}]
    content = _operations(spec)[("get", "/v1/artifacts/{artifact_id}/content")]
    # Artifact bytes open with a key or with nothing but a signed link.
    assert content["security"] == [{"ApiKeyHeader": []}, {"BearerToken": []}, {}]
    # The version is public, as on Skyvern's server; every other operation needs the key.
    assert _operations(spec)[("get", "/v1/version")]["security"] == [{}]
    for path, ops in spec["paths"].items():
        for method, op in ops.items():
            if (method, path) not in {("get", "/v1/version"), ("get", "/v1/artifacts/{artifact_id}/content")}:
                assert "security" not in op, (method, path)  # the document's: a key is required
    assert documented.client.get("/v1/organizations/me", key=None).status == 403


def test_the_key_names_its_organization(documented: Documented) -> None:
    org = documented.client.get("/v1/organizations/me").json()
    assert org["organization_name"] == "default"
    assert documented.runtime.keys.org_by_name("default") is not None
    assert org["organization_id"] == documented.runtime.keys.org_by_name("default").org_id  # type: ignore[union-attr]


def test_answers_match_their_documented_schemas(documented: Documented) -> None:
    spec, client, run_id = documented.spec, documented.client, documented.run.run_id
    operations = _operations(spec)
    for (method, path), reply in {
        ("get", "/v1/runs/{run_id}"): client.get(f"/v1/runs/{run_id}"),
        ("get", "/v1/runs"): client.get("/v1/runs"),
        ("get", "/v1/runs/{run_id}/timeline"): client.get(f"/v1/runs/{run_id}/timeline"),
        ("get", "/v1/runs/{run_id}/artifacts"): client.get(f"/v1/runs/{run_id}/artifacts"),
        ("get", "/v1/artifacts/{artifact_id}"): client.get(
            f"/v1/artifacts/{documented.run.artifacts['png'].artifact_id}"
        ),
        ("post", "/v1/runs/{run_id}/retry_webhook"): client.post(f"/v1/runs/{run_id}/retry_webhook"),
        ("get", "/v1/version"): client.get("/v1/version", key=None),
        ("get", "/v1/organizations/me"): client.get("/v1/organizations/me"),
    }.items():
        assert reply.status == 200, (path, reply.body)
        schema = operations[(method, path)]["responses"]["200"]["content"]["application/json"]["schema"]
        _validator(spec, schema).validate(reply.json())
    missing = client.get("/v1/runs/tsk_404")
    _validator(spec, {"$ref": "#/components/schemas/ErrorBody"}).validate(missing.json())
    invalid = client.post("/v1/run/tasks", json_body={})
    _validator(spec, {"$ref": "#/components/schemas/ValidationErrorBody"}).validate(invalid.json())


def test_typed_answers_keep_the_bytes_the_renderers_write(documented: Documented) -> None:
    # Declaring models must not change the JSON: same keys, same order, same values.
    runtime, run_id = documented.runtime, documented.run.run_id
    view = runtime.event_log.get_view(run_id)
    assert view is not None
    sent = documented.client.get(f"/v1/runs/{run_id}")
    expected = run_response(view, runtime.artifacts, app_url=runtime.services.config.app_url)
    assert json.loads(sent.body, object_pairs_hook=list) == json.loads(
        json.dumps(expected), object_pairs_hook=list
    )
    record = runtime.event_log.list_artifacts(run_id)[0]
    one = documented.client.get(f"/v1/artifacts/{record.artifact_id}")
    assert json.loads(one.body, object_pairs_hook=list) == json.loads(
        json.dumps(artifact_response(record, runtime.artifacts)), object_pairs_hook=list
    )


def test_the_wire_timeline_models_have_the_domains_fields(documented: Documented) -> None:
    for ours, theirs in (
        (wire.TimelineEntry, domain_timeline.TimelineEntry),
        (wire.TimelineBlock, domain_timeline.TimelineBlock),
        (wire.TimelineAction, domain_timeline.TimelineAction),
        (wire.TimelineThought, domain_timeline.TimelineThought),
    ):
        assert list(ours.model_fields) == list(theirs.model_fields), ours.__name__


def test_the_request_examples_are_accepted(documented: Documented) -> None:
    operations = _operations(documented.spec)
    run_task = operations[("post", "/v1/run/tasks")]["requestBody"]["content"]["application/json"]["examples"]
    assert len(run_task) >= 2
    for name, example in run_task.items():
        reply = documented.client.post("/v1/run/tasks", json_body=example["value"])
        assert reply.status == 200, (name, reply.body)
        assert reply.json()["run_request"]["prompt"] == example["value"]["prompt"]
    retry = operations[("post", "/v1/runs/{run_id}/retry_webhook")]["requestBody"]
    assert retry["required"] is False
    for name, example in retry["content"]["application/json"]["examples"].items():
        reply = documented.client.post(
            f"/v1/runs/{documented.run.run_id}/retry_webhook", json_body=example["value"]
        )
        assert reply.status == 200, (name, reply.body)
        assert reply.json()["status_code"] == 200 and reply.json()["error"] is None
    assert documented.receiver.delivered()


def test_the_docs_page_may_run_only_its_own_script(documented: Documented) -> None:
    docs = documented.client.get("/docs", key=None)
    assert docs.status == 200
    policy = docs.headers["Content-Security-Policy"]
    assert (
        "default-src 'none'" in policy
        and "connect-src 'self'" in policy
        and "frame-ancestors 'none'" in policy
    )
    assert docs.headers["X-Content-Type-Options"] == "nosniff"


def test_every_success_answer_is_typed(documented: Documented) -> None:
    for key, op in _operations(documented.spec).items():
        content = op["responses"][SUCCESS.get(key, "200")]["content"]
        schema = next(iter(content.values()))["schema"]
        # A model, a list of models, a union of them, bytes, or (cancel) an explicit null.
        assert schema.get("$ref") or schema.get("anyOf") or schema.get("items") or schema.get("type"), key
        if "items" in schema:
            assert schema["items"]["$ref"].startswith("#/components/schemas/"), key


def test_routes_without_input_accept_an_absent_body_and_promise_no_422(documented: Documented) -> None:
    client, run_id = documented.client, documented.run.run_id
    session = client.post("/v1/browser_sessions")
    assert session.status == 200, session.body
    session_id = session.json()["browser_session_id"]
    # A script id nobody has: run_script answers 400 whatever the script.
    ids = {
        "run_id": run_id,
        "browser_session_id": session_id,
        "credential_id": "cred_absent",
        "script_id": "s_unknown",
    }
    operations = _operations(documented.spec)
    # Every served write that declares no body, or an optional one, called as the SDK does:
    # no body at all, with and without a JSON content type.
    for (method, path), op in operations.items():
        if method == "get" or op.get("requestBody", {}).get("required"):
            continue
        target = path.format(**ids)
        for headers in ({}, {"content-type": "application/json"}):
            reply = client.call(method.upper(), target, headers=headers)
            assert reply.status != 422, (method, path, headers, reply.body)
            assert reply.status < 500, (method, path, headers, reply.body)
    # An operation with no body and no query, header or cookie parameter cannot fail validation,
    # so it does not list 422; every other one still does.
    for (method, path), op in operations.items():
        has_input = "requestBody" in op or any(
            p["in"] in ("query", "header", "cookie") for p in op.get("parameters", [])
        )
        assert ("422" in op["responses"]) == has_input, (method, path)
