"""Revoking, rotating and listing API keys with `alto keys` while `alto serve` runs: the CLI
is another process, and what it does takes effect at the server's next request.

Keys are created through the data directory's store (as `alto keys create` does, which the
compat suite covers) so that only the commands under test pay for a process each."""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest

from altostratus.cli.main import main
from altostratus.domain.keys import hash_key
from altostratus.runtimes.local import LocalRuntime, build_local
from altostratus.runtimes.settings import Settings
from tests.support.server import RunningServer, alto, alto_serve

TASK = {"prompt": "What is the title?", "url": "https://example.com"}


@dataclass
class Served:
    running: RunningServer
    store: LocalRuntime

    @property
    def base_url(self) -> str:
        return self.running.base_url

    @property
    def data_dir(self) -> Path:
        return self.running.data_dir


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Served]:
    data_dir: Path = tmp_path_factory.mktemp("alto-keys")
    with alto_serve(data_dir, api_only=True) as running:
        store = build_local(Settings(data_dir=data_dir))
        try:
            yield Served(running, store)
        finally:
            store.close()


def _create(server: Served, org_name: str, label: str | None = None) -> tuple[str, str]:
    """A new key of the organization: (its id, the raw key)."""
    keys = server.store.keys
    org = keys.org_by_name(org_name) or keys.create_org(org_name)
    record, raw = keys.create_key(org.org_id, label=label)
    return record.key_id, raw


def _listed(server: Served, org: str, raw: str) -> dict[str, Any]:
    rows = json.loads(alto("keys", "list", "--org", org, "--json", data_dir=server.data_dir))
    (row,) = [r for r in rows if r["hint"] == raw[-4:]]
    return dict(row)


def _get_runs(server: Served, key: str, run_id: str) -> httpx.Response:
    return httpx.get(f"{server.base_url}/v1/runs/{run_id}", headers={"x-api-key": key}, timeout=10)


def _submit(server: Served, key: str) -> httpx.Response:
    return httpx.post(f"{server.base_url}/v1/run/tasks", json=TASK, headers={"x-api-key": key}, timeout=10)


def _refused(reply: httpx.Response) -> bool:
    return reply.status_code == 403 and reply.json() == {"detail": "Invalid credentials"}


def test_a_key_revoked_from_another_process_is_refused_at_the_next_request(server: Served) -> None:
    key_id, key = _create(server, "revokers")
    _, colleague = _create(server, "revokers")
    run = _submit(server, key)
    assert run.status_code == 200, run.text
    run_id = run.json()["run_id"]
    assert _get_runs(server, key, run_id).status_code == 200

    alto("keys", "revoke", key_id, data_dir=server.data_dir)

    assert _refused(_get_runs(server, key, run_id))
    assert _refused(_submit(server, key))
    # The organization's other keys, and its runs, are untouched.
    assert _get_runs(server, colleague, run_id).json()["run_id"] == run_id


def test_rotation_prints_a_working_key_and_refuses_the_old_one(server: Served) -> None:
    old_id, old = _create(server, "rotators", label="ci")
    assert _submit(server, old).status_code == 200

    new = alto("keys", "rotate", old_id, data_dir=server.data_dir).strip()

    assert new.startswith("alto_") and new != old
    assert _submit(server, new).status_code == 200
    assert _refused(_submit(server, old))
    listed = _listed(server, "rotators", new)
    assert listed["label"] == "ci" and listed["status"] == "active"
    assert _listed(server, "rotators", old)["status"].startswith("revoked")


def test_a_grace_period_keeps_the_old_key_working_until_it_is_revoked(server: Served) -> None:
    old_id, old = _create(server, "graceful")
    new = alto("keys", "rotate", old_id, "--grace-seconds", "600", data_dir=server.data_dir).strip()
    assert _submit(server, old).status_code == 200  # clients still switching over
    assert _submit(server, new).status_code == 200
    assert _listed(server, "graceful", old)["status"].startswith("active until")

    alto("keys", "revoke", old_id, data_dir=server.data_dir)  # ends the grace period now

    assert _refused(_submit(server, old))
    assert _submit(server, new).status_code == 200


def test_the_listing_shows_ids_and_last_use_but_never_a_key_or_its_hash(server: Served) -> None:
    used_id, used = _create(server, "listed-a")
    idle_id, idle = _create(server, "listed-b")
    assert _submit(server, used).status_code == 200

    table = alto("keys", "list", data_dir=server.data_dir)  # every organization's keys
    as_json = alto("keys", "list", "--json", data_dir=server.data_dir)

    for output in (table, as_json):
        assert used_id in output and idle_id in output
        for secret in (used, idle, hash_key(used), hash_key(idle)):
            assert secret not in output
    lines = {line.split()[0]: line for line in table.splitlines()[1:]}
    assert "listed-a" in lines[used_id] and "never" not in lines[used_id]
    assert "listed-b" in lines[idle_id] and "never" in lines[idle_id]
    rows = {r["key_id"]: r for r in json.loads(as_json)}
    assert rows[used_id]["last_used_at"] is not None and rows[used_id]["organization"] == "listed-a"
    assert rows[idle_id]["last_used_at"] is None and rows[idle_id]["revoked_at"] is None


def test_unknown_and_already_revoked_keys_are_explained(
    server: Served, capsys: pytest.CaptureFixture[str]
) -> None:
    def cli(*args: str) -> tuple[int, str, str]:
        code = main([*args, "--data-dir", str(server.data_dir)])
        out, err = capsys.readouterr()
        return code, out, " ".join(err.split())  # the console wraps long lines

    code, _, err = cli("keys", "revoke", "key_404")
    assert code == 1 and err == "No API key with id 'key_404' (see `alto keys list`)."
    key_id, _ = _create(server, "twice")
    assert cli("keys", "revoke", key_id)[0] == 0
    code, _, err = cli("keys", "revoke", key_id)
    assert code == 0 and "already revoked" in err
    code, out, err = cli("keys", "rotate", key_id)
    assert code == 1 and "is revoked or already rotated" in err and out == ""
    code, _, err = cli("keys", "list", "--org", "nobody")
    assert code == 1 and "No organization named 'nobody'" in err
    with pytest.raises(SystemExit) as bad:
        cli("keys", "rotate", key_id, "--grace-seconds", "soon")
    assert bad.value.code == 2 and "not a number of seconds" in capsys.readouterr().err
