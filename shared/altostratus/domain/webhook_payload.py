"""The webhook's body and signatures, as Skyvern's receivers and its SDK expect them (pure).

Body: the run response (no `run_request`) merged over Skyvern's legacy task (or workflow-run)
keys, serialised as compact JSON with non-ASCII kept and integral floats written as ints.

Signatures, both keyed with the API key that created the run (its UTF-8 bytes):
- Skyvern's: `x-skyvern-signature` = hex HMAC-SHA256 of the exact body bytes, and
  `x-skyvern-timestamp` (unix seconds, not signed, so replayable);
- Standard Webhooks': `webhook-id`, `webhook-timestamp` and `webhook-signature` =
  `v1,<base64 HMAC-SHA256 of "<id>.<timestamp>.<body>">`. A Standard Webhooks library verifies
  it with the secret `whsec_` + base64(api key).

Examples
--------
>>> body = compact_json({"run_id": "tsk_1", "status": "completed", "output": {"n": 1.0, "s": "é"}})
>>> body
'{"run_id":"tsk_1","status":"completed","output":{"n":1,"s":"é"}}'
>>> skyvern_signature(body.encode(), "KEY")
'b871e207f58c8729f3a1da7f166977baf4ca97b35c673b1d2642de1ad79db53f'
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import math
from collections.abc import Mapping
from typing import Any

from altostratus.domain.enums import RunType
from altostratus.domain.redaction import redact_url
from altostratus.domain.view import RunView

SKYVERN_SIGNATURE = "x-skyvern-signature"
SKYVERN_TIMESTAMP = "x-skyvern-timestamp"
WEBHOOK_ID = "webhook-id"
WEBHOOK_TIMESTAMP = "webhook-timestamp"
WEBHOOK_SIGNATURE = "webhook-signature"


def _normalised(value: Any) -> Any:
    if isinstance(value, float):
        if not math.isfinite(value):
            # JSON has no NaN/Infinity; an extraction can still produce one (json.loads accepts
            # "NaN"), and a body that cannot be serialised would never be delivered.
            return None
        return int(value) if value.is_integer() else value
    if isinstance(value, Mapping):
        return {str(k): _normalised(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_normalised(v) for v in value]
    return value


def compact_json(payload: Any) -> str:
    """Skyvern's webhook serialisation: `separators=(",", ":")`, non-ASCII kept, 1.0 -> 1."""
    return json.dumps(_normalised(payload), separators=(",", ":"), ensure_ascii=False, allow_nan=False)


def _legacy_task_keys(run: Mapping[str, Any], view: RunView) -> dict[str, Any]:
    screenshots = list(run.get("screenshot_urls") or [])
    files = list(run.get("downloaded_files") or [])
    return {
        "task_id": view.run_id,
        "status": run.get("status"),
        "created_at": run.get("created_at"),
        "modified_at": run.get("modified_at"),
        "queued_at": run.get("queued_at"),
        "started_at": run.get("started_at"),
        "finished_at": run.get("finished_at"),
        "extracted_information": run.get("output"),
        "action_screenshot_urls": screenshots,
        "screenshot_url": screenshots[0] if screenshots else None,
        "recording_url": run.get("recording_url"),
        "recording_archived": False,
        "downloaded_files": files,
        "downloaded_file_urls": [f.get("url") for f in files],
        "failure_reason": run.get("failure_reason"),
        "webhook_failure_reason": run.get("webhook_failure_reason"),
        "errors": run.get("errors") or [],
        "max_steps_per_run": view.max_steps,
        "workflow_run_id": None,
        "max_screenshot_scrolls": view.max_screenshot_scrolls,
        "step_count": view.step_count,
        "browser_session_id": view.browser_session_id,
    }


def _legacy_workflow_keys(run: Mapping[str, Any], view: RunView) -> dict[str, Any]:
    files = list(run.get("downloaded_files") or [])
    parameters = view.request_echo.get("parameters")
    return {
        "workflow_id": view.workflow_id,
        "workflow_run_id": view.run_id,
        "status": run.get("status"),
        "failure_reason": run.get("failure_reason"),
        "webhook_callback_url": redact_url(view.webhook_url) if view.webhook_url else None,
        "webhook_failure_reason": run.get("webhook_failure_reason"),
        "queued_at": run.get("queued_at"),
        "started_at": run.get("started_at"),
        "finished_at": run.get("finished_at"),
        "created_at": run.get("created_at"),
        "modified_at": run.get("modified_at"),
        "parameters": parameters if isinstance(parameters, dict) else {},
        "screenshot_urls": list(run.get("screenshot_urls") or []),
        "recording_url": run.get("recording_url"),
        "downloaded_files": files,
        "downloaded_file_urls": [f.get("url") for f in files],
        "outputs": run.get("output"),
        "total_steps": view.step_count,
        "workflow_title": view.title,
        "browser_session_id": view.browser_session_id,
        "errors": run.get("errors") or [],
    }


def webhook_payload(run: Mapping[str, Any], view: RunView) -> dict[str, Any]:
    """The body as a dict: `run` (the rendered run response) over the legacy keys.

    `run` must be rendered without `run_request`: the request can carry browser headers and
    proxy credentials, and a webhook only ever shows what get_run shows.
    """
    if "run_request" in run:
        raise ValueError("the webhook body never includes run_request")
    legacy = (
        _legacy_workflow_keys(run, view)
        if view.run_type is RunType.WORKFLOW_RUN
        else _legacy_task_keys(run, view)
    )
    return {**legacy, **run}


def _hmac(key: str, message: bytes) -> bytes:
    return hmac.new(key.encode("utf-8"), message, hashlib.sha256).digest()


def skyvern_signature(body: bytes, key: str) -> str:
    """Hex HMAC-SHA256 of the exact body bytes (`x-skyvern-signature`)."""
    return _hmac(key, body).hex()


def standard_signature(webhook_id: str, timestamp: int, body: bytes, key: str) -> str:
    """Standard Webhooks' `webhook-signature`: `v1,` + base64 HMAC of `id.timestamp.body`."""
    signed = f"{webhook_id}.{timestamp}.".encode() + body
    return "v1," + base64.b64encode(_hmac(key, signed)).decode("ascii")


def signed_headers(body: bytes, *, key: str, webhook_id: str, timestamp: int) -> dict[str, str]:
    """Every header a delivery carries besides the transport's own."""
    return {
        "Content-Type": "application/json",
        SKYVERN_TIMESTAMP: str(timestamp),
        SKYVERN_SIGNATURE: skyvern_signature(body, key),
        WEBHOOK_ID: webhook_id,
        WEBHOOK_TIMESTAMP: str(timestamp),
        WEBHOOK_SIGNATURE: standard_signature(webhook_id, timestamp, body, key),
    }
