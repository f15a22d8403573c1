"""One idempotency key, one run: even when the server is killed in the middle of a burst of
submissions and every key is sent again after the restart."""

from __future__ import annotations

import json
import sqlite3
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import replace
from pathlib import Path

import httpx
import pytest

from altostratus.ports.event_log import RunQuery
from altostratus.runtimes import aws as aws_runtime
from altostratus.runtimes.local import build_local
from altostratus.runtimes.settings import Settings
from tests.support.api_client import ApiClient
from tests.support.aws import moto_aws
from tests.support.functions import FakeLambdaContext, load_event, load_function
from tests.support.server import alto, alto_serve

SUBMISSIONS = 200
KILL_AFTER = 80  # answered submissions before the kill
# A burst from one key, as a client retrying a batch would send it: no rate limit in the way.
UNLIMITED = {"ALTO_RATE_LIMIT_PER_SECOND": "0"}


def _body(n: int) -> dict[str, object]:
    return {"prompt": f"Find the price of item {n}", "url": f"https://shop.example.com/items/{n}"}


def _submit(base_url: str, key: str, n: int) -> str | None:
    """The run id the server answered for submission n, or None if it never answered."""
    headers = {"x-api-key": key, "x-idempotency-key": f"order-{n}"}
    try:
        reply = httpx.post(f"{base_url}/v1/run/tasks", json=_body(n), headers=headers, timeout=10)
    except httpx.HTTPError:
        return None
    if reply.status_code != 200:
        return None
    run_id: str = reply.json()["run_id"]
    return run_id


def test_a_kill_during_a_burst_of_idempotent_submissions_makes_one_run_per_key(tmp_path: Path) -> None:
    data_dir = tmp_path / "data"
    key = alto("keys", "create", "--org", "burst", data_dir=data_dir).strip()
    first: dict[int, str | None] = {}
    # GIVEN a burst of submissions, each with its own key, and a kill -9 in the middle of it
    with alto_serve(data_dir, api_only=True, env=UNLIMITED) as server:
        answered = threading.Semaphore(0)
        done = threading.Event()

        def one(n: int) -> None:
            first[n] = _submit(server.base_url, key, n)
            if first[n] is not None:
                answered.release()

        def killer() -> None:
            for _ in range(KILL_AFTER):
                answered.acquire(timeout=30)
            server.process.kill()
            done.set()

        watcher = threading.Thread(target=killer)
        watcher.start()
        with ThreadPoolExecutor(8) as pool:
            list(pool.map(one, range(SUBMISSIONS)))
        watcher.join(timeout=60)
        assert done.is_set()
    lost = [n for n, run in first.items() if run is None]
    assert KILL_AFTER <= SUBMISSIONS - len(lost) < SUBMISSIONS  # the kill did cut the burst

    # WHEN every key is sent again to a restarted server
    with alto_serve(data_dir, api_only=True, env=UNLIMITED) as server, ThreadPoolExecutor(8) as pool:
        second = dict(
            zip(
                range(SUBMISSIONS),
                pool.map(lambda n: _submit(server.base_url, key, n), range(SUBMISSIONS)),
                strict=True,
            )
        )

    # THEN each key answers one run, the same before and after, and there are no other runs
    assert all(second[n] is not None for n in range(SUBMISSIONS)), [n for n, r in second.items() if r is None]
    assert [n for n, run in first.items() if run is not None and run != second[n]] == []
    with sqlite3.connect(data_dir / "alto.db") as db:
        runs = {row[0] for row in db.execute("SELECT run_id FROM views")}
        claims = dict(db.execute("SELECT claim, run_id FROM claims").fetchall())
    assert runs == set(second.values())
    assert len(runs) == SUBMISSIONS
    assert sorted(claims.values()) == sorted(runs)


class _DiesAfterTheRunIsWritten:
    """An orchestrator whose start kills the request the way a crash would: after RunCreated is
    written and before the idempotency record is completed (no cleanup runs)."""

    def start(self, run_id: str) -> None:
        raise _Crash(run_id)

    def stop(self, run_id: str) -> None:
        pass


class _Crash(BaseException):
    pass


def test_a_submission_that_died_after_writing_its_run_is_found_again_embedded(tmp_path: Path) -> None:
    # GIVEN a submission that died between writing its run and completing its key
    settings = Settings(data_dir=tmp_path / "data")
    dying = build_local(settings, orchestrator=_DiesAfterTheRunIsWritten())
    try:
        key = dying.ensure_dev_key()
        assert key is not None
        headers = {"x-idempotency-key": "invoice-7"}
        with pytest.raises(_Crash) as crashed:
            ApiClient(dying.api(), key).post("/v1/run/tasks", json_body=_body(7), headers=headers)
        (run_id,) = crashed.value.args
    finally:
        dying.close()
    # WHEN the server restarts (its stale locks released) and the key is sent again
    runtime = build_local(settings)
    try:
        runtime.release_stale_locks()
        client = ApiClient(runtime.api(), key)
        again = client.post("/v1/run/tasks", json_body=_body(7), headers=headers)
        # THEN the answer is the run the first request wrote, and it is the only run
        assert again.status == 200, again.body
        assert again.json()["run_id"] == run_id
        org = runtime.keys.org_by_name("default")
        assert org is not None
        assert [r.run_id for r in runtime.event_log.list_runs(org.org_id, RunQuery()).runs] == [run_id]
        # AND the same key with another body is refused, naming the problem
        other = client.post("/v1/run/tasks", json_body=_body(8), headers=headers)
        assert other.status == 409 and "different request body" in other.json()["detail"]
    finally:
        runtime.close()


def test_a_submission_that_died_after_writing_its_run_is_found_again_on_aws(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    with moto_aws() as aws:
        for name, value in aws.environment().items():
            monkeypatch.setenv(name, value)
        aws_runtime.forget_environment()
        try:
            built = aws_runtime.runtime()
            org = built.keys.create_org("acme")
            _, key = built.keys.create_key(org.org_id)
            event = load_event("api_run_task", REPLACE_WITH_API_KEY=key)
            event["headers"]["x-idempotency-key"] = "invoice-7"
            # The api function's cold start builds its API from this runtime's services.
            healthy = built.services
            built.services = replace(healthy, orchestrator=_DiesAfterTheRunIsWritten())
            function = load_function("api")
            # GIVEN an invocation that died after writing the run; its lock lapses with the
            # invocation's time (here almost none was left)
            with pytest.raises(_Crash) as crashed:
                function.handler(event, FakeLambdaContext(remaining_ms=1))
            (run_id,) = crashed.value.args
            built.services = replace(healthy, orchestrator=None)
            function = load_function("api")  # a new execution environment takes the retry
            time.sleep(0.01)
            # WHEN the client retries with the same key
            reply = function.handler(event, FakeLambdaContext())
            # THEN it gets that run, and DynamoDB holds no other
            assert reply["statusCode"] == 200, reply["body"]
            assert json.loads(reply["body"])["run_id"] == run_id
            views = aws.dynamodb.scan(
                TableName=aws.state_table,
                FilterExpression="sk = :v",
                ExpressionAttributeValues={":v": {"S": "view"}},
            )["Items"]
            assert [v["pk"]["S"] for v in views] == [f"run#{run_id}"]
        finally:
            aws_runtime.forget_environment()
