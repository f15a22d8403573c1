"""Sealing secrets at rest (AES-256-GCM under the deployment's master key)."""

from __future__ import annotations

import base64
import os

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM


class Sealer:
    def __init__(self, master_key: bytes) -> None:
        if len(master_key) != 32:
            raise ValueError("the master key must be 32 bytes")
        self._aead = AESGCM(master_key)

    def seal(self, plaintext: str, *, context: str) -> str:
        nonce = os.urandom(12)
        box = self._aead.encrypt(nonce, plaintext.encode(), context.encode())
        return base64.urlsafe_b64encode(nonce + box).decode()

    def unseal(self, sealed: str, *, context: str) -> str:
        raw = base64.urlsafe_b64decode(sealed.encode())
        try:
            return self._aead.decrypt(raw[:12], raw[12:], context.encode()).decode()
        except InvalidTag as exc:
            raise ValueError("sealed value does not match the master key") from exc


def decode_master_key(text: str) -> bytes:
    """Accepts the master key as 64 hex characters or URL-safe base64 of 32 bytes."""
    value = text.strip()
    try:
        key = bytes.fromhex(value)
    except ValueError:
        key = base64.urlsafe_b64decode(value + "=" * (-len(value) % 4))
    if len(key) != 32:
        raise ValueError("the master key must be 32 bytes (64 hex characters)")
    return key
