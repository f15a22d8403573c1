"""The key-store contract, run against SQLite and DynamoDB (moto)."""

from __future__ import annotations

import os
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path

import pytest

from altostratus.adapters.key_stores import DynamoDBKeyStore, SQLiteKeyStore
from altostratus.adapters.sealing import Sealer
from altostratus.adapters.sqlite_db import SQLiteDatabase
from altostratus.domain.ids import IdFactory
from altostratus.domain.keys import KeyRevokedError, UnknownKeyError
from altostratus.ports.keys import KeyStore
from tests.support.aws import moto_aws
from tests.support.clock import FakeClock


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture(params=["sqlite", "dynamodb"])
def keys(request: pytest.FixtureRequest, tmp_path: Path, clock: FakeClock) -> Iterator[KeyStore]:
    sealer = Sealer(os.urandom(32))
    if request.param == "sqlite":
        db = SQLiteDatabase(tmp_path / "alto.db")
        yield SQLiteKeyStore(db, sealer, IdFactory(), clock)
        db.close()
    else:
        with moto_aws() as aws:
            yield DynamoDBKeyStore(
                aws.dynamodb, state_table=aws.state_table, sealer=sealer, ids=IdFactory(), clock=clock
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


def test_an_organization_is_found_by_its_id(keys: KeyStore) -> None:
    org = keys.create_org("acme")
    keys.create_org("other")
    assert keys.get_org(org.org_id) == org
    assert keys.get_org("o_0") is None


def test_keys_are_listed_per_organization(keys: KeyStore) -> None:
    a, b = keys.create_org("a"), keys.create_org("b")
    first, _ = keys.create_key(a.org_id)
    second, _ = keys.create_key(a.org_id)
    keys.create_key(b.org_id)
    assert [k.key_id for k in keys.list_keys(a.org_id)] == [first.key_id, second.key_id]


def test_every_organizations_keys_are_listed_without_an_organization(keys: KeyStore) -> None:
    a, b = keys.create_org("a"), keys.create_org("b")
    first, _ = keys.create_key(a.org_id)
    second, _ = keys.create_key(b.org_id)
    assert [(k.key_id, k.org_id) for k in keys.list_keys()] == [
        (first.key_id, a.org_id),
        (second.key_id, b.org_id),
    ]
    assert keys.list_orgs() == [a, b]


def test_a_revoked_key_is_refused_at_once_and_still_signs_its_webhooks(
    keys: KeyStore, clock: FakeClock
) -> None:
    org = keys.create_org("acme")
    record, raw = keys.create_key(org.org_id)
    _, other = keys.create_key(org.org_id)
    revoked = keys.revoke_key(record.key_id)
    assert revoked.key_id == record.key_id and revoked.revoked_at is not None
    assert keys.authenticate(raw) is None
    assert keys.authenticate(other) is not None  # only that key
    # Runs it created keep signing their webhooks with it, so receivers can still verify.
    assert keys.signing_key(record.key_id) == raw
    listed = {k.key_id: k for k in keys.list_keys(org.org_id)}
    assert listed[record.key_id].revoked_at == revoked.revoked_at
    assert listed[record.key_id].active_at(clock.now()) is False
    stored = keys.get_key(record.key_id)
    assert stored is not None and stored.revoked_at == revoked.revoked_at


def test_revoking_twice_keeps_the_first_revocation(keys: KeyStore, clock: FakeClock) -> None:
    org = keys.create_org("acme")
    record, raw = keys.create_key(org.org_id)
    first = keys.revoke_key(record.key_id)
    clock.advance(timedelta(hours=1))
    again = keys.revoke_key(record.key_id)
    assert again.revoked_at == first.revoked_at
    assert keys.authenticate(raw) is None


def test_revoking_or_rotating_an_unknown_key_says_so(keys: KeyStore) -> None:
    with pytest.raises(UnknownKeyError):
        keys.revoke_key("key_404")
    with pytest.raises(UnknownKeyError):
        keys.rotate_key("key_404")
    assert keys.get_key("key_404") is None


def test_rotation_replaces_the_key_for_the_same_organization_and_label(keys: KeyStore) -> None:
    org = keys.create_org("acme")
    old, old_raw = keys.create_key(org.org_id, label="ci")
    new, new_raw = keys.rotate_key(old.key_id)
    assert new.key_id != old.key_id and new_raw != old_raw
    assert (new.org_id, new.label) == (org.org_id, "ci")
    principal = keys.authenticate(new_raw)
    assert principal is not None and principal.key_id == new.key_id and principal.org_id == org.org_id
    assert keys.authenticate(old_raw) is None  # no grace period unless asked for
    assert keys.signing_key(new.key_id) == new_raw and keys.signing_key(old.key_id) == old_raw
    assert [k.key_id for k in keys.list_keys(org.org_id)] == [old.key_id, new.key_id]


def test_a_rotated_key_works_until_its_grace_period_ends(keys: KeyStore, clock: FakeClock) -> None:
    org = keys.create_org("acme")
    old, old_raw = keys.create_key(org.org_id)
    new, new_raw = keys.rotate_key(old.key_id, grace_seconds=300)
    clock.advance(timedelta(seconds=299))
    during = keys.authenticate(old_raw)
    assert during is not None and during.key_id == old.key_id
    assert during.key_expires_at == new.created_at + timedelta(seconds=300)
    clock.advance(timedelta(seconds=2))
    assert keys.authenticate(old_raw) is None
    assert keys.authenticate(new_raw) is not None


def test_revoking_a_key_in_its_grace_period_ends_the_period_now(keys: KeyStore) -> None:
    org = keys.create_org("acme")
    old, old_raw = keys.create_key(org.org_id)
    keys.rotate_key(old.key_id, grace_seconds=3600)
    assert keys.authenticate(old_raw) is not None
    keys.revoke_key(old.key_id)
    assert keys.authenticate(old_raw) is None


def test_a_revoked_or_rotated_key_cannot_be_rotated(keys: KeyStore) -> None:
    org = keys.create_org("acme")
    rotated, _ = keys.create_key(org.org_id)
    keys.rotate_key(rotated.key_id, grace_seconds=60)
    with pytest.raises(KeyRevokedError):
        keys.rotate_key(rotated.key_id)  # a second replacement would leave two live successors
    revoked, _ = keys.create_key(org.org_id)
    keys.revoke_key(revoked.key_id)
    with pytest.raises(KeyRevokedError):
        keys.rotate_key(revoked.key_id)
    assert len(keys.list_keys(org.org_id)) == 3  # the refused rotations created nothing


def test_last_use_only_moves_forward_and_never_undoes_a_revocation(keys: KeyStore, clock: FakeClock) -> None:
    org = keys.create_org("acme")
    record, raw = keys.create_key(org.org_id)
    assert keys.list_keys(org.org_id)[0].last_used_at is None
    later = clock.now() + timedelta(minutes=5)
    keys.record_use(record.key_id, later)
    keys.record_use(record.key_id, later - timedelta(minutes=1))  # a slower process, older news
    assert keys.list_keys(org.org_id)[0].last_used_at == later
    keys.revoke_key(record.key_id)
    keys.record_use(record.key_id, later + timedelta(minutes=1))
    assert keys.authenticate(raw) is None
    stored = keys.get_key(record.key_id)
    assert stored is not None and stored.last_used_at == later + timedelta(minutes=1)
    keys.record_use("key_404", later)  # an unknown key is nothing to record
