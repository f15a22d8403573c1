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
    revoked: bool = False


class Principal(BaseModel):
    """Who is calling: the organization and the key it used."""

    model_config = ConfigDict(frozen=True)
    org_id: str
    key_id: str


def new_key() -> str:
    return KEY_PREFIX + secrets.token_urlsafe(32)


def hash_key(raw_key: str) -> str:
    # Keys are 256 random bits, so a fast hash is enough; a slow KDF would only add latency
    # to every request.
    return hashlib.sha256(raw_key.encode()).hexdigest()
