"""The key-store contract, run against SQLite and DynamoDB (moto)."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest

from altostratus.adapters.key_stores import DynamoDBKeyStore, SQLiteKeyStore
from altostratus.adapters.sealing import Sealer
from altostratus.adapters.sqlite_db import SQLiteDatabase
from altostratus.domain.ids import IdFactory
from altostratus.ports.keys import KeyStore
from tests.support.aws import moto_aws
from tests.support.clock import FakeClock


@pytest.fixture(params=["sqlite", "dynamodb"])
def keys(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[KeyStore]:
    sealer = Sealer(os.urandom(32))
    if request.param == "sqlite":
        db = SQLiteDatabase(tmp_path / "alto.db")
        yield SQLiteKeyStore(db, sealer, IdFactory(), FakeClock())
        db.close()
    else:
        with moto_aws() as aws:
            yield DynamoDBKeyStore(
                aws.dynamodb, state_table=aws.state_table, sealer=sealer, ids=IdFactory(), clock=FakeClock()
            )


def test_a_new_key_authenticates_as_its_organization(keys: KeyStore) -> None:
    org = keys.create_org("acme")
    record, raw = keys.create_key(org.org_id, label="ci")
    principal = keys.authenticate(raw)
    assert principal is not None
    assert principal.org_id == org.org_id and principal.key_id == record.key_id
    assert raw not in record.model_dump_json()  # stored hashed and sealed, never in clear


def test_unknown_keys_do_not_authenticate(keys: KeyStore) -> None:
    org = keys.create_org("acme")
    _, raw = keys.create_key(org.org_id)
    assert keys.authenticate(raw + "x") is None
    assert keys.authenticate("") is None


def test_the_signing_key_is_the_raw_key(keys: KeyStore) -> None:
    org = keys.create_org("acme")
    record, raw = keys.create_key(org.org_id)
    assert keys.signing_key(record.key_id) == raw
    assert keys.signing_key("key_0") is None


def test_organization_names_are_unique_and_findable(keys: KeyStore) -> None:
    org = keys.create_org("acme")
    assert keys.org_by_name("acme") == org
    assert keys.org_by_name("other") is None
    with pytest.raises(ValueError, match="already exists"):
        keys.create_org("acme")


def test_keys_are_listed_per_organization(keys: KeyStore) -> None:
    a, b = keys.create_org("a"), keys.create_org("b")
    first, _ = keys.create_key(a.org_id)
    second, _ = keys.create_key(a.org_id)
    keys.create_key(b.org_id)
    assert [k.key_id for k in keys.list_keys(a.org_id)] == [first.key_id, second.key_id]
