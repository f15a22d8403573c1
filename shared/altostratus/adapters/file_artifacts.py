"""The embedded artifact store: files under the data directory, served by the local API
through HMAC-signed, expiring links to `/v1/artifacts/{id}/content`."""

from __future__ import annotations

import hashlib
import hmac
import os
import threading
import time
from collections.abc import Callable
from pathlib import Path
from urllib.parse import urlencode

from altostratus.ports.artifacts import DEFAULT_URL_TTL_S
from altostratus.ports.errors import ItemNotStoredError

# URIs name the key, not the absolute path: the data directory can move, and responses never
# show the server's file system layout.
URI_SCHEME = "local://"


def link_signature(secret: bytes, artifact_id: str, expires: int) -> str:
    return hmac.new(secret, f"{artifact_id}.{expires}".encode(), hashlib.sha256).hexdigest()


def verify_link(secret: bytes, artifact_id: str, expires: int, signature: str, *, now: float) -> bool:
    if expires < now:
        return False
    # Compared as bytes: a link's signature is whatever the caller typed, and comparing str
    # values that are not ASCII raises instead of answering False.
    expected = link_signature(secret, artifact_id, expires).encode()
    return hmac.compare_digest(expected, signature.encode("utf-8", "surrogatepass"))


class FileArtifactStore:
    def __init__(
        self,
        root: Path,
        *,
        public_base_url: str,
        signing_secret: bytes,
        now: Callable[[], float] = time.time,
    ) -> None:
        self._root = root.resolve()
        self._root.mkdir(mode=0o700, parents=True, exist_ok=True)
        # Settable: the embedded server knows its address only once it is listening.
        self.public_base_url = public_base_url
        self._secret = signing_secret
        self._now = now

    def put(self, key: str, data: bytes, *, content_type: str) -> str:
        path = self._path_for_key(key)
        # Artifacts hold pages and screenshots of users' runs: owner-only, like the directory.
        path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
        tmp = path.with_name(f".{path.name}.{os.getpid()}.{threading.get_ident()}.tmp")
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "wb") as f:
            f.write(data)
        tmp.replace(path)  # readers never see half a file
        return URI_SCHEME + key

    def get(self, uri: str) -> bytes:
        path = self._path_for_uri(uri)
        try:
            return path.read_bytes()
        except FileNotFoundError as exc:
            raise ItemNotStoredError(f"no artifact stored at {uri}") from exc

    def signed_url(self, uri: str, *, artifact_id: str, expires_in: int = DEFAULT_URL_TTL_S) -> str:
        expires = int(self._now()) + expires_in
        query = urlencode(
            {"expires": expires, "signature": link_signature(self._secret, artifact_id, expires)}
        )
        return f"{self.public_base_url.rstrip('/')}/v1/artifacts/{artifact_id}/content?{query}"

    def verify(self, artifact_id: str, expires: int, signature: str) -> bool:
        return verify_link(self._secret, artifact_id, expires, signature, now=self._now())

    def _path_for_key(self, key: str) -> Path:
        path = (self._root / key).resolve()
        if not path.is_relative_to(self._root):
            raise ValueError(f"artifact key escapes the store: {key!r}")
        return path

    def _path_for_uri(self, uri: str) -> Path:
        if not uri.startswith(URI_SCHEME):
            raise ItemNotStoredError(f"not a file artifact: {uri}")
        path = (self._root / uri[len(URI_SCHEME) :]).resolve()
        if not path.is_relative_to(self._root):
            raise ItemNotStoredError(f"artifact outside the store: {uri}")
        return path
