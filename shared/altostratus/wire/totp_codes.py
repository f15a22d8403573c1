"""The JSON of the one-time-code push: what a caller sends and what it is answered."""

from __future__ import annotations

from datetime import datetime
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator

from altostratus.domain.otp import OtpType

Timestamp = str


class TotpCodeCreate(BaseModel):
    """A code, or the email or SMS message that carries it, for an identifier."""

    model_config = ConfigDict(extra="ignore")

    totp_identifier: str = Field(
        min_length=1,
        description="Who the code is for: an email address, a phone number or a user's name.",
        examples=["john.doe@example.com"],
    )
    content: str = Field(
        description="The code itself, or the message it came in (its code is found without a model).",
        examples=["Hello, your verification code is 123456"],
    )
    task_id: str | None = Field(default=None, description="Only this task run may use the code.")
    workflow_id: str | None = Field(default=None, description="Only runs of this workflow may use it.")
    workflow_run_id: str | None = Field(default=None, description="Only this workflow run may use it.")
    source: str | None = Field(default=None, examples=["email", "sms"])
    expired_at: datetime | None = Field(default=None, description="After this time the code is not typed.")
    type: OtpType | None = Field(
        default=None, description="Deprecated and ignored: the kind of code is found from the content."
    )

    @field_validator("content")
    @classmethod
    def _no_nul(cls, value: str) -> str:
        return value.replace("\x00", "")


class TotpCode(BaseModel):
    """The stored code. `status` is `raw_pending` when no code was found in the content (only
    the raw message is kept, and `code` is empty)."""

    model_config = ConfigDict(extra="allow")

    totp_code_id: str
    totp_identifier: str
    code: str
    content: str
    organization_id: str
    task_id: str | None = None
    workflow_id: str | None = None
    workflow_run_id: str | None = None
    source: str | None = None
    expired_at: Timestamp | None = None
    type: OtpType | None = None
    otp_type: OtpType | None = None
    created_at: Timestamp
    modified_at: Timestamp
    status: Literal["raw_pending"] | None = None
