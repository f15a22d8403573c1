"""The error table's last lines: whatever goes wrong inside answers `{"detail": ...}` with the
right status and the standing headers, naming no class, path, storage address or secret."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

import altostratus.api.routes.runs as runs_module
from altostratus.api.errors import INTERNAL_ERROR, UNAVAILABLE
from altostratus.ports.errors import ItemNotStoredError, StoreUnavailableError
from altostratus.runtimes.local import LocalRuntime, build_local
from altostratus.runtimes.settings import Settings
from tests.support.api_client import ApiClient, Reply


@pytest.fixture
def local(tmp_path: Path) -> Iterator[tuple[LocalRuntime, ApiClient]]:
    runtime = build_local(Settings(data_dir=tmp_path / "data"))
    key = runtime.ensure_dev_key()
    yield runtime, ApiClient(runtime.api(), key)
    runtime.close()


def _assert_plain_error(reply: Reply, status: int, detail: str) -> None:
    assert reply.status == status
    assert reply.json() == {"detail": detail}
    assert reply.headers["X-Content-Type-Options"] == "nosniff"
    assert reply.headers["Cache-Control"] == "no-store"


def test_a_missing_stored_item_is_a_404_that_hides_where_it_was(
    local: tuple[LocalRuntime, ApiClient], monkeypatch: pytest.MonkeyPatch
) -> None:
    runtime, client = local

    def gone(_: str) -> None:
        raise ItemNotStoredError("no artifact stored at s3://secret-bucket/o_1/tsk_1/a_1.png")

    monkeypatch.setattr(runtime.event_log, "get_view", gone)
    reply = client.get("/v1/runs/tsk_v2_1")
    _assert_plain_error(reply, 404, "The requested item is no longer stored.")
    assert b"secret-bucket" not in reply.body


def test_a_store_outage_is_a_503_with_retry_after(
    local: tuple[LocalRuntime, ApiClient], monkeypatch: pytest.MonkeyPatch
) -> None:
    runtime, client = local

    def down(_: str) -> None:
        raise StoreUnavailableError("DynamoDB throttled at arn:aws:dynamodb:us-east-1:1:table/alto")

    monkeypatch.setattr(runtime.event_log, "get_view", down)
    reply = client.get("/v1/runs/tsk_v2_1")
    _assert_plain_error(reply, 503, UNAVAILABLE)
    assert reply.headers["Retry-After"] == "1"


def test_an_error_before_routing_is_answered_by_the_same_table(
    local: tuple[LocalRuntime, ApiClient], monkeypatch: pytest.MonkeyPatch
) -> None:
    # The key store fails while the key is being checked, before any route runs.
    runtime, client = local

    def down(_: str) -> None:
        raise StoreUnavailableError("key table unreachable")

    monkeypatch.setattr(runtime.keys, "authenticate", down)
    _assert_plain_error(client.get("/v1/runs"), 503, UNAVAILABLE)

    def broken(_: str) -> None:
        raise RuntimeError(f"boom in /srv/alto/keys.py with {client.key}")

    monkeypatch.setattr(runtime.keys, "authenticate", broken)
    reply = client.get("/v1/runs")
    _assert_plain_error(reply, 500, INTERNAL_ERROR)
    assert b"RuntimeError" not in reply.body and b"keys.py" not in reply.body


def test_an_answer_that_breaks_its_model_is_the_servers_fault_not_a_422(
    local: tuple[LocalRuntime, ApiClient], monkeypatch: pytest.MonkeyPatch
) -> None:
    _, client = local
    submitted = client.post("/v1/run/tasks", json_body={"prompt": "x"}).json()
    real = runs_module.run_response

    def broken(*args: object, **kwargs: object) -> dict[str, object]:
        body = real(*args, **kwargs)  # type: ignore[arg-type]
        return {**body, "status": "sleeping"}

    monkeypatch.setattr(runs_module, "run_response", broken)
    reply = client.get(f"/v1/runs/{submitted['run_id']}")
    _assert_plain_error(reply, 500, INTERNAL_ERROR)
