"""The key-store port: organizations and their API keys (stored hashed, the key sealed).

Contract (tests/contract/test_key_store.py, every adapter):
- `create_key` returns the raw key once; afterwards only `authenticate(raw)` finds it.
- `authenticate` of an unknown or revoked key is None; a key revoked with a grace period
  (`rotate_key(..., grace_seconds=N)`) authenticates until the period ends.
- `signing_key(key_id)` returns the raw key (unsealed) for webhook signatures, revoked keys
  included: the runs a key created keep signing their webhooks with it, so receivers can still
  verify deliveries (and replays) of runs submitted before the key was revoked.
- `revoke_key` takes effect at once and is idempotent (a second call keeps the first time);
  an unknown id raises UnknownKeyError.
- `rotate_key` creates a key for the same organization with the same label and revokes the old
  one (at once, or after the grace period), in one atomic step; a revoked (or already rotated)
  key raises KeyRevokedError.
- `list_keys` lists one organization's keys, or every organization's, oldest first, with when
  each was created, revoked and last used (never the raw key).
- `record_use` only ever moves `last_used_at` forward.
- `org_by_name` finds an organization created with `create_org`; names are unique.
"""

from __future__ import annotations

from datetime import datetime
from typing import Protocol

from altostratus.domain.keys import ApiKeyRecord, Organization, Principal


class KeyStore(Protocol):
    def create_org(self, name: str) -> Organization: ...

    def org_by_name(self, name: str) -> Organization | None: ...

    def get_org(self, org_id: str) -> Organization | None: ...

    def list_orgs(self) -> list[Organization]: ...

    def create_key(self, org_id: str, *, label: str | None = None) -> tuple[ApiKeyRecord, str]:
        """A new key for the organization: (its stored record, the raw key to show once)."""
        ...

    def authenticate(self, raw_key: str) -> Principal | None: ...

    def signing_key(self, key_id: str) -> str | None: ...

    def get_key(self, key_id: str) -> ApiKeyRecord | None: ...

    def list_keys(self, org_id: str | None = None) -> list[ApiKeyRecord]: ...

    def revoke_key(self, key_id: str) -> ApiKeyRecord:
        """The key as revoked (now, or earlier if it already was)."""
        ...

    def rotate_key(self, key_id: str, *, grace_seconds: float = 0) -> tuple[ApiKeyRecord, str]:
        """The replacement key: (its stored record, the raw key to show once)."""
        ...

    def record_use(self, key_id: str, at: datetime) -> None: ...
