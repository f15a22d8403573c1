"""The key-store port: organizations and their API keys (stored hashed, the key sealed).

Contract (tests/contract/test_key_store.py, every adapter):
- `create_key` returns the raw key once; afterwards only `authenticate(raw)` finds it.
- `authenticate` of an unknown or revoked key is None.
- `signing_key(key_id)` returns the raw key (unsealed) for webhook signatures.
- `org_by_name` finds an organization created with `create_org`; names are unique.
"""

from __future__ import annotations

from typing import Protocol

from altostratus.domain.keys import ApiKeyRecord, Organization, Principal


class KeyStore(Protocol):
    def create_org(self, name: str) -> Organization: ...

    def org_by_name(self, name: str) -> Organization | None: ...

    def create_key(self, org_id: str, *, label: str | None = None) -> tuple[ApiKeyRecord, str]:
        """A new key for the organization: (its stored record, the raw key to show once)."""
        ...

    def authenticate(self, raw_key: str) -> Principal | None: ...

    def signing_key(self, key_id: str) -> str | None: ...

    def list_keys(self, org_id: str) -> list[ApiKeyRecord]: ...
