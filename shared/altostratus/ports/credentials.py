"""The credential-store port: an organization's saved credentials (passwords, cards, secrets),
their values sealed by the caller, only their showable parts in the clear.

Contract (every adapter passes `tests/contract/test_credential_store.py`):
- `create(c)` keeps a new credential at version 1; a second create of one id is an
  IntegrityError.
- `get(org, id)` is the credential, or None when it does not exist or is another
  organization's.
- `list(org, offset=, limit=)` is the organization's credentials, newest first.
- `replace(c, expected_version=v)` stores `c` at version v + 1 only if the stored one is still
  at v: a concurrent writer (or a deleted credential) makes it a SequenceConflictError.
- `delete(org, id)` is True once, False for a credential that is not (or no longer) there.
The store never holds a secret value in the clear: `sealed` is opaque to it.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Protocol


@dataclass(frozen=True)
class StoredCredential:
    credential_id: str
    org_id: str
    name: str
    # "password", "credit_card" or "secret".
    credential_type: str
    created_at: datetime
    modified_at: datetime
    # The values (password, TOTP secret, card number, secret value), as the caller sealed them.
    sealed: str
    # What the API may show of it (username, last four digits, a label...), never a secret.
    shown: dict[str, str | None] = field(default_factory=dict)
    tested_url: str | None = None
    version: int = 1


class CredentialStore(Protocol):
    def create(self, credential: StoredCredential) -> None: ...

    def get(self, org_id: str, credential_id: str) -> StoredCredential | None: ...

    def list(self, org_id: str, *, offset: int = 0, limit: int = 10) -> list[StoredCredential]: ...

    def replace(self, credential: StoredCredential, *, expected_version: int) -> StoredCredential: ...

    def delete(self, org_id: str, credential_id: str) -> bool: ...
