"""/v1/credentials/totp: one-time codes pushed for 2FA, stored sealed per organization."""

from __future__ import annotations

import json
from datetime import UTC, datetime

from aws_lambda_powertools.event_handler.api_gateway import Router

from altostratus.api.auth import caller
from altostratus.api.errors import BadGatewayError, BadRequestError
from altostratus.api.openapi import AUTH_ERRORS, BODY_ERRORS, responses
from altostratus.api.services import ApiServices
from altostratus.domain import otp
from altostratus.ports.otp_codes import StoredOtpCode
from altostratus.wire.render import wire_time
from altostratus.wire.totp_codes import TotpCode, TotpCodeCreate

NOT_KEPT = "This deployment keeps no one-time codes."
READ_UNAVAILABLE = "OTP extraction is temporarily unavailable; push the code itself, or retry shortly."


def _utc(value: datetime | None) -> datetime | None:
    if value is None:
        return None
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


def credentials_router(services: ApiServices) -> Router:
    router = Router()
    log = services.event_log

    def check_scope(body: TotpCodeCreate, org_id: str) -> None:
        """Ids the code is scoped to must name the caller's own runs (else nothing could use it)."""
        for run_id, kind in ((body.task_id, "task"), (body.workflow_run_id, "workflow run")):
            if run_id:
                view = log.get_view(run_id)
                if view is None or view.org_id != org_id:
                    raise BadRequestError(f"Invalid {kind} id: {run_id}")
        if body.workflow_id:
            # No workflow is kept on this deployment, so no id names one.
            raise BadRequestError(f"Invalid workflow id: {body.workflow_id}")

    @router.post(
        "/v1/credentials/totp",
        summary="Send a TOTP code",
        description=(
            "Store a one-time code (or the email or SMS message carrying it) for an identifier, so a "
            "run asking for that identifier's code can type it. A message whose code is not found "
            "is kept as `raw_pending`."
        ),
        tags=["credentials"],
        operation_id="send_totp_code",
        responses=responses(
            "The stored code.",
            *BODY_ERRORS,
            502,
            *AUTH_ERRORS,
            overrides={
                400: "The body is not JSON, a task or workflow id it names does not exist, or the "
                "content has no code and is longer than 65536 characters.",
                502: "The message's code is not found by its patterns, and the model that reads such "
                "messages could not be asked.",
            },
        ),
    )
    def send_totp_code(body: TotpCodeCreate) -> TotpCode:
        principal = caller(router)
        if services.otp_codes is None:
            raise BadRequestError(NOT_KEPT)
        check_scope(body, principal.org_id)
        parsed = otp.parse_content(body.content)
        if parsed is None and len(body.content) > otp.RAW_CONTENT_MAX_LENGTH:
            raise BadRequestError("Failed to parse otp login")
        if parsed is None and services.otp_reader is not None and body.content.strip():
            try:
                parsed = services.otp_reader(body.content)
            except otp.OtpReadUnavailableError:
                raise BadGatewayError(READ_UNAVAILABLE) from None
        now = services.clock.now()
        code_id = services.ids.new("totp")
        identifier = otp.normalize_identifier(body.totp_identifier)
        secret = {"code": parsed.value if parsed else "", "content": body.content}
        stored = StoredOtpCode(
            totp_code_id=code_id,
            org_id=principal.org_id,
            identifier=identifier,
            created_at=now,
            sealed=services.secret_box.seal(json.dumps(secret), context=code_id),
            expired_at=_utc(body.expired_at),
            task_id=body.task_id,
            workflow_id=body.workflow_id,
            workflow_run_id=body.workflow_run_id,
            source=body.source,
            otp_type=parsed.otp_type.value if parsed else None,
            status="ready" if parsed else "raw_pending",
        )
        services.otp_codes.add(stored)
        answer = TotpCode(
            totp_code_id=code_id,
            totp_identifier=identifier,
            code=secret["code"],
            content=body.content,
            organization_id=principal.org_id,
            task_id=body.task_id,
            workflow_id=body.workflow_id,
            workflow_run_id=body.workflow_run_id,
            source=body.source,
            expired_at=wire_time(stored.expired_at),
            type=body.type,
            otp_type=parsed.otp_type if parsed else None,
            created_at=wire_time(now) or "",
            modified_at=wire_time(now) or "",
            status=None if parsed else "raw_pending",
        )
        return answer

    return router
