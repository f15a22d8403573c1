"""A key's last use is recorded cheaply: at most one write per key per minute per process,
and a failing write never fails the request."""

from __future__ import annotations

import logging
from collections.abc import Iterator
from datetime import datetime, timedelta
from pathlib import Path

import pytest

from altostratus.ports.errors import StoreUnavailableError
from altostratus.runtimes.local import LocalRuntime, build_local
from altostratus.runtimes.settings import Settings
from tests.support.api_client import ApiClient
from tests.support.clock import FakeClock


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture
def runtime(tmp_path: Path, clock: FakeClock) -> Iterator[LocalRuntime]:
    rt = build_local(Settings(data_dir=tmp_path / "data"), clock=clock)
    yield rt
    rt.close()


def _last_used(runtime: LocalRuntime, key_id: str) -> datetime | None:
    record = runtime.keys.get_key(key_id)
    assert record is not None
    return record.last_used_at


def test_last_use_is_written_at_most_once_a_minute_per_key(
    runtime: LocalRuntime, clock: FakeClock, monkeypatch: pytest.MonkeyPatch
) -> None:
    org = runtime.keys.create_org("acme")
    first, key = runtime.keys.create_key(org.org_id)
    second, other = runtime.keys.create_key(org.org_id)
    writes: list[str] = []
    record_use = runtime.keys.record_use

    def counted(key_id: str, at: datetime) -> None:
        writes.append(key_id)
        record_use(key_id, at)

    monkeypatch.setattr(runtime.keys, "record_use", counted)
    api = ApiClient(runtime.api(), key)
    assert _last_used(runtime, first.key_id) is None

    for _ in range(10):
        assert api.get("/v1/runs/tsk_404").status == 404
    assert api.get("/v1/runs/tsk_404", key=other).status == 404
    assert writes == [first.key_id, second.key_id]
    seen = _last_used(runtime, first.key_id)
    assert seen is not None

    clock.advance(timedelta(seconds=59))
    api.get("/v1/runs/tsk_404")
    assert writes == [first.key_id, second.key_id] and _last_used(runtime, first.key_id) == seen
    clock.advance(timedelta(seconds=2))
    api.get("/v1/runs/tsk_404")
    assert writes[-1] == first.key_id and len(writes) == 3
    later = _last_used(runtime, first.key_id)
    assert later is not None and later > seen


def test_a_failing_last_use_write_does_not_fail_the_request(
    runtime: LocalRuntime, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    org = runtime.keys.create_org("acme")
    _, key = runtime.keys.create_key(org.org_id)

    def unavailable(key_id: str, at: datetime) -> None:
        raise StoreUnavailableError("the database is busy")

    monkeypatch.setattr(runtime.keys, "record_use", unavailable)
    with caplog.at_level(logging.WARNING, logger="altostratus.api"):
        reply = ApiClient(runtime.api(), key).post(
            "/v1/run/tasks", json_body={"prompt": "Title?", "url": "https://example.com"}
        )
    assert reply.status == 200, reply.body
    assert "could not record the use of key" in caplog.text and key not in caplog.text
