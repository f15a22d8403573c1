"""Artifacts in any store, handed out as the API's own signed links.

An S3 presigned URL made by a Lambda function is signed with the function role's temporary
credentials, so it stops working when those expire — often hours before the expiry the API
states. These links point at the API's `/v1/artifacts/{id}/content` instead, signed (HMAC) with
a key derived from the deployment's master key, and hold exactly until their `expires`.
The API serves the bytes itself, or redirects a file too large for a Lambda response to a
presigned URL made at that moment and valid for a few minutes only.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from urllib.parse import urlencode

from altostratus.adapters.file_artifacts import link_signature, verify_link
from altostratus.ports.artifacts import DEFAULT_URL_TTL_S, ArtifactStore


class ApiLinkedArtifacts:
    def __init__(
        self,
        inner: ArtifactStore,
        *,
        public_base_url: str,
        signing_secret: bytes,
        now: Callable[[], float] = time.time,
    ) -> None:
        self.inner = inner
        # Settable: the API function learns its address from the request it answers.
        self.public_base_url = public_base_url
        self._secret = signing_secret
        self._now = now

    def put(self, key: str, data: bytes, *, content_type: str) -> str:
        return self.inner.put(key, data, content_type=content_type)

    def get(self, uri: str) -> bytes:
        return self.inner.get(uri)

    def signed_url(self, uri: str, *, artifact_id: str, expires_in: int = DEFAULT_URL_TTL_S) -> str:
        expires = int(self._now()) + expires_in
        query = urlencode(
            {"expires": expires, "signature": link_signature(self._secret, artifact_id, expires)}
        )
        return f"{self.public_base_url.rstrip('/')}/v1/artifacts/{artifact_id}/content?{query}"

    def verify(self, artifact_id: str, expires: int, signature: str) -> bool:
        return verify_link(self._secret, artifact_id, expires, signature, now=self._now())

    def direct_url(self, uri: str, *, artifact_id: str, expires_in: int = 300) -> str:
        """A short-lived link straight to the inner store (for a redirect made just now)."""
        return self.inner.signed_url(uri, artifact_id=artifact_id, expires_in=expires_in)
