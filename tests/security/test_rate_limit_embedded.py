"""The per-key request rate on the embedded runtime: a burst, then 429 with Retry-After."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from altostratus.runtimes.local import build_local
from altostratus.runtimes.settings import Settings
from tests.support.api_client import ApiClient
from tests.support.clock import FakeClock
from tests.support.server import RunningServer, alto_serve

BURST = 5
# One request every 20 s after the burst: no token comes back while a test runs.
SLOW = {"ALTO_RATE_LIMIT_PER_SECOND": "0.05", "ALTO_RATE_LIMIT_BURST": str(BURST)}


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[RunningServer, list[str]]]:
    data_dir: Path = tmp_path_factory.mktemp("alto-rate")
    store = build_local(Settings(data_dir=data_dir))
    org = store.keys.create_org("acme")
    keys = [store.keys.create_key(org.org_id)[1] for _ in range(3)]
    store.close()
    with alto_serve(data_dir, api_only=True, env=SLOW) as running:
        yield running, keys


def _get(server: RunningServer, key: str | None, path: str = "/v1/runs/tsk_404") -> httpx.Response:
    headers = {"x-api-key": key} if key else {}
    return httpx.get(server.base_url + path, headers=headers, timeout=10)


def test_a_burst_then_429_with_retry_after_and_other_keys_unaffected(
    server: tuple[RunningServer, list[str]],
) -> None:
    running, (key, other, _) = server
    submitted = httpx.post(
        running.base_url + "/v1/run/tasks",
        json={"prompt": "Title?", "url": "https://example.com"},
        headers={"x-api-key": key},
        timeout=10,
    )
    assert submitted.status_code == 200
    assert [_get(running, key).status_code for _ in range(BURST - 1)] == [404] * (BURST - 1)

    refused = _get(running, key)
    assert refused.status_code == 429
    wait = refused.headers["retry-after"]
    assert wait.isdigit() and 1 <= int(wait) <= 20
    detail = refused.json()["detail"]
    assert set(refused.json()) == {"detail"} and "Too many requests" in detail and key not in detail
    # Refused submissions are refused too, before their body is looked at.
    again = httpx.post(running.base_url + "/v1/run/tasks", json={}, headers={"x-api-key": key}, timeout=10)
    assert again.status_code == 429

    assert [_get(running, other).status_code for _ in range(BURST)] == [404] * BURST
    assert _get(running, None, "/health").status_code == 200  # public paths carry no key


def test_unauthenticated_requests_are_403_and_count_against_no_key(
    server: tuple[RunningServer, list[str]],
) -> None:
    running, (_, _, fresh) = server
    assert {_get(running, "alto_not-a-key").status_code for _ in range(2 * BURST)} == {403}
    assert {_get(running, None).status_code for _ in range(BURST)} == {403}
    assert [_get(running, fresh).status_code for _ in range(BURST)] == [404] * BURST
    assert _get(running, fresh).status_code == 429


def test_the_default_limit_is_a_burst_of_40(tmp_path: Path) -> None:
    # A clock that does not move: no token comes back, so the burst is exactly what passes.
    runtime = build_local(Settings(data_dir=tmp_path / "data"), clock=FakeClock())
    try:
        api = ApiClient(runtime.api(), runtime.ensure_dev_key())
        statuses = [api.get("/v1/runs/tsk_404").status for _ in range(41)]
        assert statuses == [404] * 40 + [429]
    finally:
        runtime.close()


def test_a_limit_of_0_turns_the_limit_off(tmp_path: Path) -> None:
    runtime = build_local(Settings(data_dir=tmp_path / "data", rate_limit_per_second=0), clock=FakeClock())
    try:
        api = ApiClient(runtime.api(), runtime.ensure_dev_key())
        assert {api.get("/v1/runs/tsk_404").status for _ in range(200)} == {404}
    finally:
        runtime.close()
