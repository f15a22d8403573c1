"""Getting a one-time code for a run and typing it without the model ever seeing it.

The model asks with `request_verification_code`; every few seconds, up to a limit, the engine
asks the run's `totp_url` (a signed POST, as Skyvern sends it) and looks for a code pushed for
the run's `totp_identifier` that this run may use (see `domain.otp.may_use`), taking it so no
other run types it. The code is kept as a run secret. The model then names the box (or one
box per character) with `enter_verification_code`, and the engine types it: the value is in
no prompt, and is redacted wherever the page shows it back.
"""

from __future__ import annotations

import asyncio
import json
import logging
import time
from dataclasses import dataclass
from typing import Any

from altostratus.domain import otp
from altostratus.domain.enums import RunType
from altostratus.domain.ids import IdFactory
from altostratus.domain.view import RunView
from altostratus.domain.webhook_payload import compact_json, signed_headers
from altostratus.ports.clock import Clock
from altostratus.ports.code_endpoints import CodeAnswer, CodeEndpoint
from altostratus.ports.keys import KeyStore
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
# Debug lines say where a code came from and what the sources answered, never the code.
log = logging.getLogger(__name__)


@dataclass(frozen=True)
class CodeWait:
    """How often to look and for how long."""

    poll_s: float
    timeout_s: float


def pull_body(view: RunView) -> dict[str, str]:
    """What a `totp_url` is told about the run asking: Skyvern's ids, only those present."""
    if view.run_type is RunType.WORKFLOW_RUN:
        body = {"workflow_run_id": view.run_id}
        if view.workflow_id:
            body["workflow_permanent_id"] = view.workflow_id
        return body
    return {"task_id": view.run_id}


class CodePull:
    """Asks a run's `totp_url` for its code, signed like the run's webhooks: with the key that
    created the run, in Skyvern's headers and in Standard Webhooks' (a fresh id per ask)."""

    def __init__(self, endpoint: CodeEndpoint, keys: KeyStore, ids: IdFactory, clock: Clock) -> None:
        self._endpoint = endpoint
        self._keys = keys
        self._ids = ids
        self._clock = clock

    def ask(self, view: RunView, url: str) -> CodeAnswer:
        key = self._keys.signing_key(view.api_key_id) if view.api_key_id else None
        if key is None:
            return CodeAnswer(None, problem="nothing sent: the key that created the run is gone")
        body = compact_json(pull_body(view)).encode("utf-8")
        timestamp = int(self._clock.now().timestamp())
        headers = signed_headers(body, key=key, webhook_id=self._ids.new("msg"), timestamp=timestamp)
        answer = self._endpoint.ask(url, body, headers)
        if answer.code is not None and len(answer.code) > otp.BARE_CODE_MAX_LENGTH:
            # A message rather than a code: read it as a pushed one would be.
            parsed = otp.parse_content(answer.code)
            if parsed is None or parsed.otp_type is not otp.OtpType.TOTP:
                return CodeAnswer(answer.status_code, problem="200 with a verification_code holding no code")
            return CodeAnswer(answer.status_code, code=parsed.value)
        return answer


@dataclass
class PullDiary:
    """What a run's `totp_url` answered while the run waited, counted by kind of answer."""

    counts: dict[str, int]

    def add(self, answer: CodeAnswer) -> None:
        said = answer.describe()
        self.counts[said] = self.counts.get(said, 0) + 1

    def describe(self) -> str:
        return ", ".join(f"{said} ({n} time{'s' if n != 1 else ''})" for said, n in self.counts.items())


@dataclass(frozen=True)
class CodeSources:
    """Where a run's code can come from: its `totp_url`, codes pushed for its identifier."""

    pull: CodePull | None = None
    url: str | None = None
    finder: CodeFinder | None = None
    identifier: str | None = None

    async def wait(self, view: RunView, wait: CodeWait, diary: PullDiary) -> str | None:
        """The code, once one arrives; None after `timeout_s` (`diary` then tells what the
        run's `totp_url` answered)."""
        deadline = time.monotonic() + wait.timeout_s
        asks = 0
        while True:
            asks += 1
            if self.pull is not None and self.url:
                answer = await asyncio.to_thread(self.pull.ask, view, self.url)
                diary.add(answer)
                if answer.code:
                    self._waited(view, "totp_url", asks, diary)
                    return answer.code
            if self.finder is not None and self.identifier:
                code = await asyncio.to_thread(self.finder.take, view, self.identifier)
                if code is not None:
                    self._waited(view, "pushed", asks, diary)
                    return code
            if time.monotonic() + wait.poll_s > deadline:
                self._waited(view, None, asks, diary)
                return None
            await asyncio.sleep(wait.poll_s)

    def _waited(self, view: RunView, source: str | None, asks: int, diary: PullDiary) -> None:
        got = {"totp_url": "a code from its totp_url", "pushed": "a pushed code"}.get(source or "", "no code")
        log.debug(
            "run %s: %s after %d look%s",
            view.run_id,
            got,
            asks,
            "" if asks == 1 else "s",
            extra={
                "run_id": view.run_id,
                "code_source": source,
                "looks": asks,
                "totp_url_answers": diary.describe() or None,
            },
        )


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
                log.debug(
                    "run %s took pushed code %s",
                    view.run_id,
                    stored.totp_code_id,
                    extra={
                        "run_id": view.run_id,
                        "totp_code_id": stored.totp_code_id,
                        "pushed_as": stored.source,
                    },
                )
                return value
        return None
