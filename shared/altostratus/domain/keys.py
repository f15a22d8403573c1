"""Organizations and API keys: a key belongs to exactly one organization."""

from __future__ import annotations

import hashlib
import secrets
from datetime import datetime

from pydantic import BaseModel, ConfigDict

KEY_PREFIX = "alto_"


class Organization(BaseModel):
    model_config = ConfigDict(frozen=True)
    org_id: str
    name: str
    created_at: datetime


class ApiKeyRecord(BaseModel):
    """What is stored of a key: its hash (for lookup) and, sealed, the key itself, which signs
    the webhooks of the runs it creates (receivers verify with the key they hold)."""

    model_config = ConfigDict(frozen=True)
    key_id: str
    org_id: str
    key_hash: str
    sealed_key: str
    hint: str  # the last characters, to tell keys apart in listings
    label: str | None = None
    created_at: datetime
    # When the key stops authenticating: the moment it was revoked, or the end of the grace
    # period of a rotated key (then in the future). Its webhook signatures keep working.
    revoked_at: datetime | None = None
    # Recorded at most once a minute per key and process, so a little behind the true last use.
    last_used_at: datetime | None = None

    def active_at(self, now: datetime) -> bool:
        return self.revoked_at is None or now < self.revoked_at


class Principal(BaseModel):
    """Who is calling: the organization and the key it used."""

    model_config = ConfigDict(frozen=True)
    org_id: str
    key_id: str
    # When the key stops working (a rotated key in its grace period); None while it has no end.
    key_expires_at: datetime | None = None


class UnknownKeyError(LookupError):
    def __init__(self, key_id: str) -> None:
        super().__init__(f"no API key with id {key_id!r}")
        self.key_id = key_id


class KeyRevokedError(ValueError):
    def __init__(self, key_id: str) -> None:
        super().__init__(f"API key {key_id!r} is revoked (or already rotated)")
        self.key_id = key_id


def new_key() -> str:
    return KEY_PREFIX + secrets.token_urlsafe(32)


def hash_key(raw_key: str) -> str:
    # Keys are 256 random bits, so a fast hash is enough; a slow KDF would only add latency
    # to every request.
    return hashlib.sha256(raw_key.encode()).hexdigest()
