"""Getting a one-time code for a run and typing it without the model ever seeing it.

The model asks with `request_verification_code`; the engine looks for a code pushed for the
run's `totp_identifier` (every few seconds, up to a limit) that this run may use (see
`domain.otp.may_use`), takes it so no other run types it, and keeps it as a run secret. The
model then names the box (or one box per character) with `enter_verification_code`, and the
engine types it: the value is in no prompt, and is redacted wherever the page shows it back.
"""

from __future__ import annotations

import asyncio
import json
import time
from dataclasses import dataclass
from typing import Any

from altostratus.domain import otp
from altostratus.domain.view import RunView
from altostratus.ports.clock import Clock
from altostratus.ports.otp_codes import OtpCodes
from altostratus.ports.secret_box import SecretBox

REQUEST_CODE, ENTER_CODE = "request_verification_code", "enter_verification_code"
CODE_SECRET = "verification_code"

REQUEST_CODE_TOOL: dict[str, Any] = {
    "name": REQUEST_CODE,
    "description": (
        "The page asks for a verification code (2FA, OTP, a code sent by email or SMS): get it. "
        "The engine waits for the code and keeps it; you never see it. Then call "
        f"{ENTER_CODE} with the box (or boxes) to type it into."
    ),
    "input_schema": {
        "type": "object",
        "properties": {"reason": {"type": "string", "description": "What the page says it wants."}},
        "required": ["reason"],
        "additionalProperties": False,
    },
}

ENTER_CODE_TOOL: dict[str, Any] = {
    "name": ENTER_CODE,
    "description": (
        "Type the verification code obtained with "
        f"{REQUEST_CODE} into the page: one element id for a single box, or one id per box "
        "(in order) when the page has a box per digit. Submit the form afterwards."
    ),
    "input_schema": {
        "type": "object",
        "properties": {
            "element_ids": {
                "type": "array",
                "items": {"type": "string", "minLength": 1},
                "minItems": 1,
                "maxItems": 12,
            }
        },
        "required": ["element_ids"],
        "additionalProperties": False,
    },
}

TOOLS = (REQUEST_CODE_TOOL, ENTER_CODE_TOOL)


@dataclass(frozen=True)
class CodeWait:
    """Where to look and for how long."""

    poll_s: float
    timeout_s: float


class CodeFinder:
    """Finds and takes the code a run may type, among those pushed for its identifier."""

    def __init__(self, codes: OtpCodes, box: SecretBox, clock: Clock) -> None:
        self._codes = codes
        self._box = box
        self._clock = clock

    def take(self, view: RunView, identifier: str) -> str | None:
        now = self._clock.now()
        asking = otp.RunAsking(
            run_id=view.run_id,
            started_at=view.started_at or view.created_at,
            workflow_id=view.workflow_id,
        )
        normalized = otp.normalize_identifier(identifier)
        for stored in self._codes.recent(view.org_id, normalized, since=now - otp.CODE_LIFESPAN):
            if stored.status != "ready" or stored.otp_type != otp.OtpType.TOTP.value:
                continue
            scope = otp.CodeScope(stored.task_id, stored.workflow_id, stored.workflow_run_id)
            usable = otp.may_use(
                scope,
                created_at=stored.created_at,
                expired_at=stored.expired_at,
                used=stored.used_by is not None,
                run=asking,
                now=now,
            )
            if usable and self._codes.mark_used(
                view.org_id,
                normalized,
                created_at=stored.created_at,
                totp_code_id=stored.totp_code_id,
                run_id=view.run_id,
            ):
                value: str = json.loads(self._box.unseal(stored.sealed, context=stored.totp_code_id))["code"]
                return value
        return None

    async def wait(self, view: RunView, identifier: str, wait: CodeWait) -> str | None:
        """The code, once one this run may use has been pushed; None after `timeout_s`."""
        deadline = time.monotonic() + wait.timeout_s
        while True:
            code = await asyncio.to_thread(self.take, view, identifier)
            if code is not None:
                return code
            if time.monotonic() + wait.poll_s > deadline:
                return None
            await asyncio.sleep(wait.poll_s)
