"""The artifact-store port: bytes of screenshots, HTML, LLM exchanges, downloads, recordings.

Contract (tests/contract/test_artifact_store.py, every adapter):
- `put` stores bytes under a key and returns a URI that `get` and `signed_url` accept.
- `signed_url` gives a URL that fetches the bytes without an API key until it expires.
- `get` of an unknown URI raises ItemNotStoredError.
"""

from __future__ import annotations

from typing import Protocol

DEFAULT_URL_TTL_S = 24 * 3600


class ArtifactStore(Protocol):
    def put(self, key: str, data: bytes, *, content_type: str) -> str:
        """Store `data` at `key` (`<org>/<run>/<artifact id><ext>`); returns its URI."""
        ...

    def get(self, uri: str) -> bytes:
        """The stored bytes; ItemNotStoredError if nothing is stored there."""
        ...

    def signed_url(self, uri: str, *, artifact_id: str, expires_in: int = DEFAULT_URL_TTL_S) -> str:
        """A URL that serves the bytes to anyone holding it, until `expires_in` seconds pass."""
        ...
