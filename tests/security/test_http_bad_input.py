"""Malformed requests to `alto serve` are refused with the specific 4xx and a `detail` naming
the problem; none reaches a 500, and none creates a run."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from altostratus.api.errors import INTERNAL_ERROR
from altostratus.ports.event_log import RunQuery
from tests.support.http_security import SeededServer, seeded_server

JSON = {"content-type": "application/json"}


def _nested(depth: int, leaf: str = "1") -> str:
    return "[" * depth + leaf + "]" * depth


def _schema(depth: int) -> Any:
    return json.loads('{"items":' * depth + "{}" + "}" * depth)


@pytest.fixture(scope="module")
def served(tmp_path_factory: pytest.TempPathFactory) -> Iterator[SeededServer]:
    with seeded_server(tmp_path_factory.mktemp("alto-http-bad-input")) as seeded:
        yield seeded


def _runs(served: SeededServer) -> int:
    return len(served.store.event_log.list_runs(served.run.org_id, RunQuery(page_size=100)).runs)


def _post(served: SeededServer, path: str, body: bytes, headers: dict[str, str]) -> httpx.Response:
    return httpx.post(f"{served.base_url}{path}", content=body, headers={"x-api-key": served.key, **headers})


# (body, headers, status, words the detail must contain)
RUN_TASK_CASES: dict[str, tuple[bytes, dict[str, str], int, str]] = {
    "not UTF-8": (b'{"prompt": "caf\xe9"}', JSON, 400, "not UTF-8 text: the byte 0xe9 at position 15"),
    "text/plain": (b'{"prompt": "x"}', {"content-type": "text/plain"}, 415, "not 'text/plain'"),
    "multipart without boundary": (
        b"--x\r\n\r\nprompt\r\n--x--",
        {"content-type": "multipart/form-data"},
        415,
        "Content-Type: application/json",
    ),
    "lone surrogate": (b'{"prompt": "\\ud800 hi"}', JSON, 400, "body.prompt contains an unpaired surrogate"),
    "lone surrogate in a key": (b'{"prompt": "x", "model": {"\\udfff": 1}}', JSON, 400, "unpaired surrogate"),
    "1,000 levels deep": (_nested(1000).encode(), JSON, 400, "nested more than 64 levels deep"),
    "NaN": (b'{"prompt": "x", "max_steps": NaN}', JSON, 400, "NaN is not a JSON value"),
    "a 5,000-digit number": (
        b'{"prompt": "x", "max_steps": ' + b"9" * 5000 + b"}",
        JSON,
        400,
        "too many digits",
    ),
    "truncated JSON": (b'{"prompt": "x",', JSON, 400, "not valid JSON"),
}


@pytest.mark.parametrize("case", list(RUN_TASK_CASES))
def test_an_unreadable_run_task_body_is_a_specific_4xx(served: SeededServer, case: str) -> None:
    body, headers, status, words = RUN_TASK_CASES[case]
    before = _runs(served)
    response = _post(served, "/v1/run/tasks", body, headers)
    assert response.status_code == status, response.text
    detail = response.json()["detail"]
    assert isinstance(detail, str) and words in detail
    assert _runs(served) == before


@pytest.mark.parametrize(
    ("field", "value"),
    [("data_extraction_schema", _schema(500)), ("prompt", json.loads(_nested(80)))],
)
def test_a_field_nested_too_deep_is_a_422_naming_it(served: SeededServer, field: str, value: Any) -> None:
    body = {"prompt": "x", field: value}
    response = _post(served, "/v1/run/tasks", json.dumps(body).encode(), JSON)
    assert response.status_code == 422, response.text
    [error] = response.json()["detail"]
    assert error["loc"] == ["body", field]
    assert "nested more than 64 levels deep" in error["msg"]


def test_a_deep_but_reasonable_schema_is_accepted(served: SeededServer) -> None:
    body = {"prompt": "x", "data_extraction_schema": _schema(40)}
    response = _post(served, "/v1/run/tasks", json.dumps(body).encode(), JSON)
    assert response.status_code == 200, response.text


def test_a_signed_link_with_a_non_ascii_signature_is_a_403(served: SeededServer) -> None:
    png = served.run.artifacts["png"]
    for signature in ("\u00e9" * 64, "\u2603", "0" * 63 + "\u00ff"):
        response = httpx.get(
            f"{served.base_url}/v1/artifacts/{png.artifact_id}/content",
            params={"expires": "99999999999", "signature": signature},
        )
        assert response.status_code == 403
        assert response.json() == {"detail": "This artifact link is invalid or has expired."}


def test_a_signed_link_with_a_non_numeric_expiry_is_a_422(served: SeededServer) -> None:
    png = served.run.artifacts["png"]
    response = httpx.get(
        f"{served.base_url}/v1/artifacts/{png.artifact_id}/content",
        params={"expires": "soon", "signature": "ab"},
    )
    assert response.status_code == 422
    assert response.json()["detail"][0]["loc"] == ["query", "expires"]


def test_retry_webhook_refuses_unreadable_bodies_specifically(served: SeededServer) -> None:
    path = f"/v1/runs/{served.run.run_id}/retry_webhook"
    wrong_type = _post(served, path, b'{"webhook_url": "x"}', {"content-type": "text/plain"})
    assert wrong_type.status_code == 415
    not_utf8 = _post(served, path, b'{"webhook_url": "\xff"}', JSON)
    assert not_utf8.status_code == 400 and "not UTF-8" in not_utf8.json()["detail"]
    not_an_object = _post(served, path, b"[1, 2]", JSON)
    assert not_an_object.status_code == 400 and "JSON object" in not_an_object.json()["detail"]
    bad_field = _post(served, path, b'{"webhook_url": 5}', JSON)
    assert bad_field.status_code == 422
    assert bad_field.json()["detail"][0]["loc"] == ["body", "webhook_url"]


def test_a_key_is_checked_before_the_body(served: SeededServer) -> None:
    # Without a valid key nothing about the body is revealed, however malformed it is.
    response = httpx.post(
        f"{served.base_url}/v1/run/tasks", content=b"\xff\xfe", headers={"content-type": "text/plain"}
    )
    assert response.status_code == 403
    assert response.json() == {"detail": "Invalid credentials"}


def test_no_error_names_an_internal_class(served: SeededServer) -> None:
    for body, headers, _, _ in RUN_TASK_CASES.values():
        text = _post(served, "/v1/run/tasks", body, headers).text
        for leak in ("Error:", "Traceback", "Unexpected error", INTERNAL_ERROR, "/work/", ".py"):
            assert leak not in text


@pytest.mark.parametrize("path", ["/v1/runs", "/v1/agents", "/v1/scripts", "/v1/credentials"])
def test_a_page_past_what_a_store_can_count_is_a_422_naming_it(served: SeededServer, path: str) -> None:
    # (page - 1) * page_size past 2**63 used to overflow the store's integer offset and answer 500.
    headers = {"x-api-key": served.key}
    huge = httpx.get(f"{served.base_url}{path}", params={"page": 2**62, "page_size": 100}, headers=headers)
    assert huge.status_code == 422, huge.text
    assert huge.json()["detail"][0]["loc"] == ["query", "page"]
    deepest = httpx.get(
        f"{served.base_url}{path}", params={"page": 1_000_000, "page_size": 100}, headers=headers
    )
    assert deepest.status_code == 200, deepest.text
    assert deepest.json() == [] or deepest.json().get("runs") == [] or deepest.json() == {"items": []}
