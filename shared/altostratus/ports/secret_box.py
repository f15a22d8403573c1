"""The secret-box port: sealing values at rest under the deployment's master key, and the
one way a run's sealed request is opened by those allowed to (the executor, the webhook
sender).

Contract: `unseal(seal(text, context=c), context=c) == text`; a value sealed under another
context or another key raises ValueError, so a sealed blob cannot be moved between records.
"""

from __future__ import annotations

import json
from typing import Any, Protocol

from altostratus.domain.run_request import RunTaskRequest
from altostratus.domain.view import RunView
from altostratus.ports.artifacts import ArtifactStore
from altostratus.ports.request_parts import with_stored_parts


class SecretBox(Protocol):
    def seal(self, plaintext: str, *, context: str) -> str: ...

    def unseal(self, sealed: str, *, context: str) -> str: ...


class SealedRequestError(RuntimeError):
    """The run's secrets are sealed and this process has no key to open them."""


def executor_request(
    view: RunView, box: SecretBox | None, artifacts: ArtifactStore | None = None
) -> RunTaskRequest:
    """The request as submitted, credentials included (for the browser, the start page and
    the webhook's address only); the run's stored request has them hidden. `artifacts` holds
    the parts of a large request kept apart from the log."""
    view = with_stored_parts(view, artifacts)
    parts = None
    if view.sealed_request:
        if box is None:
            raise SealedRequestError(f"run {view.run_id}: its request is sealed, and no key was given")
        parts = json.loads(box.unseal(view.sealed_request, context=view.run_id))
    return RunTaskRequest.from_stored(view.request, parts)


def seal_document(box: SecretBox | None, document: dict[str, Any], *, context: str) -> bytes:
    """A JSON document as stored: sealed under `context` when there is a box (browser state —
    cookies, storage, tab URLs — carries logins), else as it is."""
    text = json.dumps(document)
    if box is not None:
        text = json.dumps({"sealed": box.seal(text, context=context)})
    return text.encode()


def open_document(box: SecretBox | None, stored: bytes, *, context: str, what: str) -> dict[str, Any]:
    """The document `seal_document` stored. Raises SealedRequestError for a sealed one and no
    box, ValueError for one sealed under another context or key."""
    raw = json.loads(stored)
    if "sealed" in raw:
        if box is None:
            raise SealedRequestError(f"{what} is sealed, and no key was given")
        raw = json.loads(box.unseal(raw["sealed"], context=context))
    if not isinstance(raw, dict):
        raise ValueError(f"{what} is not a JSON object")
    return raw
