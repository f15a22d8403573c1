"""Revoking and rotating keys on the AWS runtime (moto): the `api` Lambda handler in-process
with a warm key cache, and `alto keys` with ALTO_RUNTIME=aws against the same tables."""

from __future__ import annotations

import contextlib
import io
import json
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from types import ModuleType
from typing import Any

import pytest

from altostratus.cli.main import main
from altostratus.domain.keys import hash_key
from altostratus.runtimes import aws as aws_runtime
from altostratus.runtimes.settings import Settings
from tests.support.aws import MotoAws, moto_aws
from tests.support.clock import FakeClock
from tests.support.functions import FakeLambdaContext, load_event, load_function

CACHE_SECONDS = 30


@dataclass
class Deployed:
    aws: MotoAws
    function: ModuleType
    runtime: aws_runtime.AwsRuntime
    clock: FakeClock

    def get_run(self, key: str) -> dict[str, Any]:
        reply: dict[str, Any] = self.function.handler(
            load_event("api_get_run", REPLACE_WITH_API_KEY=key), FakeLambdaContext()
        )
        return reply

    def accepted(self, key: str) -> bool:
        reply = self.get_run(key)
        assert reply["statusCode"] in (403, 404), reply  # the sample's run is not there
        if reply["statusCode"] == 403:
            assert json.loads(reply["body"]) == {"detail": "Invalid credentials"}
        return bool(reply["statusCode"] == 404)


@pytest.fixture
def deployed(monkeypatch: pytest.MonkeyPatch) -> Iterator[Deployed]:
    with moto_aws() as aws:
        for name, value in aws.environment().items():
            monkeypatch.setenv(name, value)
        monkeypatch.setenv("ALTO_KEY_CACHE_SECONDS", str(CACHE_SECONDS))
        # The function's clock starts at the real time, so revocations made by the CLI (on the
        # system clock) and by the function's own store mean the same instant.
        clock = FakeClock(datetime.now(UTC))
        built = aws_runtime.build_aws(Settings(runtime="aws"), clock=clock)
        monkeypatch.setattr(aws_runtime, "runtime", lambda: built)
        yield Deployed(aws, load_function("api"), built, clock)


def _cli(*args: str) -> str:
    out = io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(io.StringIO()):
        assert main(list(args)) == 0
    return out.getvalue()


def test_a_warm_function_refuses_a_revoked_key_once_its_cache_expires(deployed: Deployed) -> None:
    keys = deployed.runtime.keys
    org = keys.create_org("acme")
    record, key = keys.create_key(org.org_id)
    assert deployed.accepted(key)  # the function now remembers the key

    keys.revoke_key(record.key_id)
    assert keys.authenticate(key) is None  # the table already refuses it

    deployed.clock.advance(timedelta(seconds=CACHE_SECONDS - 1))
    assert deployed.accepted(key)  # within the cache's lifetime, the warm function still accepts
    deployed.clock.advance(timedelta(seconds=2))
    assert not deployed.accepted(key)
    # Webhooks of its runs are still signed with it.
    assert keys.signing_key(record.key_id) == key


def test_a_key_revoked_before_the_function_met_it_is_refused_at_once(deployed: Deployed) -> None:
    keys = deployed.runtime.keys
    org = keys.create_org("acme")
    record, key = keys.create_key(org.org_id)
    keys.revoke_key(record.key_id)
    assert not deployed.accepted(key)  # refusals are never cached, nor are unknown keys
    assert not deployed.accepted(key + "x")


def test_alto_keys_revokes_rotates_and_lists_in_the_deployments_tables(deployed: Deployed) -> None:
    old = _cli("keys", "create", "--org", "ops", "--label", "deploy bot").strip()
    (row,) = json.loads(_cli("keys", "list", "--org", "ops", "--json"))
    old_id = row["key_id"]
    assert deployed.accepted(old)

    new = _cli("keys", "rotate", old_id).strip()
    assert deployed.accepted(new)
    deployed.clock.advance(timedelta(seconds=CACHE_SECONDS + 1))
    assert not deployed.accepted(old)
    assert deployed.accepted(new)

    other = _cli("keys", "create", "--org", "finance").strip()
    assert deployed.accepted(other)
    table = _cli("keys", "list")
    rows = {r["key_id"]: r for r in json.loads(_cli("keys", "list", "--json"))}
    for output in (table, json.dumps(rows)):
        for secret in (old, new, other):
            assert secret not in output and hash_key(secret) not in output
    assert len(rows) == 3 and old_id in table
    (new_row,) = [r for r in rows.values() if r["hint"] == new[-4:]]
    assert new_row["organization"] == "ops" and new_row["label"] == "deploy bot"
    assert new_row["last_used_at"] is not None and new_row["status"] == "active"
    assert rows[old_id]["status"].startswith("revoked") and rows[old_id]["last_used_at"] is not None

    (other_row,) = [r for r in rows.values() if r["organization"] == "finance"]
    _cli("keys", "revoke", other_row["key_id"])
    deployed.clock.advance(timedelta(seconds=CACHE_SECONDS + 1))
    assert not deployed.accepted(other)
    assert deployed.accepted(new)
