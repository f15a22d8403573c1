"""A run request too large for the event log: its largest parts kept in the artifact store.

The request is stored in `RunCreated` and again in the run's view, and a DynamoDB item holds
at most 400 KB. Above `STORE_PARTS_ABOVE_BYTES` the biggest parts (the prompt, the schemas, the
error codes; the sealed credentials, still sealed, if need be) move into one JSON document in
the artifact store, and the event and the view keep a reference with its sha256.
`store_large_parts` runs before the run's first append (on every runtime); `with_stored_parts`
gives back the view as submitted to whoever needs the whole request: the API's responses, the
executor, the webhook sender.
"""

from __future__ import annotations

import hashlib
import json
from typing import Any

from altostratus.domain import events as ev
from altostratus.domain.run_summary import PROMPT_EXCERPT_CHARS, SEARCH_PREFIX_CHARS
from altostratus.domain.view import RunView
from altostratus.ports.artifacts import ArtifactStore

STORE_PARTS_ABOVE_BYTES = 64 * 1024
# The request fields that can be long, in any engine's request.
LARGE_FIELDS = (
    "prompt",
    "navigation_payload",
    "data_extraction_schema",
    "extracted_information_schema",
    "error_code_mapping",
)
# What the stored echo keeps of a moved prompt: enough for listing, search and the viewer.
_PROMPT_KEPT = max(PROMPT_EXCERPT_CHARS, SEARCH_PREFIX_CHARS)


class StoredPartsError(RuntimeError):
    """The request's stored parts cannot be read back as they were written."""


def _size(value: Any) -> int:
    return len(json.dumps(value, separators=(",", ":")).encode())


def parts_key(org_id: str, run_id: str) -> str:
    return f"{org_id}/{run_id}/request.json"


def store_large_parts(
    created: ev.RunCreated,
    *,
    run_id: str,
    artifacts: ArtifactStore,
    above: int = STORE_PARTS_ABOVE_BYTES,
) -> ev.RunCreated:
    """`created` as the log should hold it: unchanged while its request takes at most `above`
    bytes, else with its largest parts moved into the artifact store, biggest first, until
    what stays is under `above` (or nothing movable is left)."""
    total = _size(created.request) + _size(created.request_echo) + len(created.sealed_request or "")
    if total <= above:
        return created
    request, echo = dict(created.request), dict(created.request_echo)
    moved: dict[str, dict[str, Any]] = {"request": {}, "request_echo": {}}
    candidates = [name for name in LARGE_FIELDS if request.get(name) is not None]
    for name in sorted(candidates, key=lambda n: _size(request[n]), reverse=True):
        if total <= above:
            break
        moved["request"][name] = request.pop(name)
        total -= _size(moved["request"][name])
        if name in echo:
            moved["request_echo"][name] = echo.pop(name)
            total -= _size(moved["request_echo"][name])
    if isinstance(prompt := moved["request_echo"].get("prompt"), str):
        # The executor's `request` loses the prompt entirely, so nothing can run a cut one.
        echo["prompt"] = prompt[:_PROMPT_KEPT]
    sealed = created.sealed_request if total > above else None
    document = json.dumps({**moved, "sealed_request": sealed}, separators=(",", ":")).encode()
    uri = artifacts.put(parts_key(created.org_id, run_id), document, content_type="application/json")
    parts = ev.StoredRequestParts(
        uri=uri,
        sha256=hashlib.sha256(document).hexdigest(),
        size=len(document),
        fields=tuple(moved["request"]),
        sealed=sealed is not None,
    )
    return created.model_copy(
        update={
            "request": request,
            "request_echo": echo,
            "sealed_request": None if sealed is not None else created.sealed_request,
            "stored_parts": parts,
        }
    )


def with_stored_parts(view: RunView, artifacts: ArtifactStore | None) -> RunView:
    """The view with its whole request (as submitted, credentials still hidden or sealed)."""
    parts = view.stored_parts
    if parts is None:
        return view
    if artifacts is None:
        raise StoredPartsError(
            f"run {view.run_id}: part of its request is stored apart, and no store was given"
        )
    document = artifacts.get(parts.uri)
    if hashlib.sha256(document).hexdigest() != parts.sha256:
        raise StoredPartsError(f"run {view.run_id}: its stored request parts do not match their digest")
    moved = json.loads(document)
    return view.model_copy(
        update={
            "request": {**view.request, **moved["request"]},
            "request_echo": {**view.request_echo, **moved["request_echo"]},
            "sealed_request": moved.get("sealed_request") or view.sealed_request,
        }
    )
