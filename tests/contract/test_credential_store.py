"""The credential-store contract (see altostratus.ports.credentials), on SQLite and DynamoDB."""

from __future__ import annotations

import dataclasses
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from altostratus.adapters.dynamodb_credentials import DynamoDBCredentialStore
from altostratus.adapters.sqlite_credentials import SQLiteCredentialStore
from altostratus.adapters.sqlite_db import SQLiteDatabase
from altostratus.ports.credentials import CredentialStore, StoredCredential
from altostratus.ports.errors import IntegrityError, SequenceConflictError
from tests.support.aws import moto_aws

T0 = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)


@pytest.fixture(params=["sqlite", "dynamodb"])
def store(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[CredentialStore]:
    if request.param == "sqlite":
        db = SQLiteDatabase(tmp_path / "alto.db")
        yield SQLiteCredentialStore(db)
        db.close()
    else:
        with moto_aws() as aws:
            yield DynamoDBCredentialStore(aws.dynamodb, state_table=aws.state_table)


def cred(n: int, *, org: str = "o_1", **kw: object) -> StoredCredential:
    return StoredCredential(
        credential_id=f"cred_{n}",
        org_id=org,
        name=f"login {n}",
        credential_type="password",
        created_at=T0 + timedelta(seconds=n),
        modified_at=T0 + timedelta(seconds=n),
        sealed=f"sealed-{n}",
        shown={"username": f"user{n}", "totp_type": None},
        **kw,  # type: ignore[arg-type]
    )


def test_a_created_credential_is_read_back_whole_by_its_organization_only(store: CredentialStore) -> None:
    store.create(cred(1, tested_url="https://example.com/login"))
    got = store.get("o_1", "cred_1")
    assert got == cred(1, tested_url="https://example.com/login")
    assert got is not None and got.version == 1
    assert store.get("o_2", "cred_1") is None
    assert store.get("o_1", "cred_404") is None
    with pytest.raises(IntegrityError):
        store.create(cred(1))


def test_list_is_the_organizations_newest_first_in_pages(store: CredentialStore) -> None:
    for n in (1, 2, 3):
        store.create(cred(n))
    store.create(cred(9, org="o_2"))
    assert [c.credential_id for c in store.list("o_1")] == ["cred_3", "cred_2", "cred_1"]
    assert [c.credential_id for c in store.list("o_1", offset=1, limit=1)] == ["cred_2"]
    assert [c.credential_id for c in store.list("o_2")] == ["cred_9"]
    assert store.list("o_3") == []


def test_replace_moves_the_version_on_and_refuses_a_stale_writer(store: CredentialStore) -> None:
    store.create(cred(1))
    changed = dataclasses.replace(cred(1), name="renamed", sealed="sealed-new", shown={"username": "u"})
    stored = store.replace(changed, expected_version=1)
    assert stored.version == 2
    assert store.get("o_1", "cred_1") == dataclasses.replace(changed, version=2)
    # a writer that read version 1 lost the race
    with pytest.raises(SequenceConflictError):
        store.replace(dataclasses.replace(changed, name="late"), expected_version=1)
    assert (got := store.get("o_1", "cred_1")) is not None and got.name == "renamed"
    # and a credential of another organization (or none) cannot be replaced
    with pytest.raises(SequenceConflictError):
        store.replace(dataclasses.replace(changed, org_id="o_2"), expected_version=2)


def test_delete_removes_it_once(store: CredentialStore) -> None:
    store.create(cred(1))
    assert store.delete("o_2", "cred_1") is False
    assert store.delete("o_1", "cred_1") is True
    assert store.get("o_1", "cred_1") is None
    assert store.delete("o_1", "cred_1") is False
