"""The one-time-code port: codes pushed for an identifier, kept per organization.

Contract (every adapter passes `tests/contract/test_otp_codes.py`):
- `add(code)` keeps a pushed code; ids are unique (a second add of one id is an IntegrityError).
- `recent(org, identifier, since=t)` is the organization's codes for that (normalised)
  identifier created at or after `t`, newest first (at most `limit`); another organization's
  or another identifier's codes are never listed.
- `mark_used(org, identifier, created_at, code_id, run_id)` records that a run typed the code:
  True for exactly one caller however many ask at once, False afterwards (and for a code that
  does not exist); a used code is listed with `used_by` set.
The code and the message it came in are `sealed` by the caller: the store never holds them in
the clear.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Protocol

# Codes are kept this long for listing; whether one may be typed is decided on read.
RETENTION_SECONDS = 24 * 3600


@dataclass(frozen=True)
class StoredOtpCode:
    totp_code_id: str
    org_id: str
    identifier: str
    created_at: datetime
    # The code and the message, as the caller sealed them.
    sealed: str
    expired_at: datetime | None = None
    task_id: str | None = None
    workflow_id: str | None = None
    workflow_run_id: str | None = None
    source: str | None = None
    otp_type: str | None = None
    # "ready": a code (or link) was found; "raw_pending": only the raw message is kept.
    status: str = "ready"
    used_by: str | None = None


class OtpCodes(Protocol):
    def add(self, code: StoredOtpCode) -> None: ...

    def recent(
        self, org_id: str, identifier: str, *, since: datetime, limit: int = 50
    ) -> list[StoredOtpCode]: ...

    def mark_used(
        self, org_id: str, identifier: str, *, created_at: datetime, totp_code_id: str, run_id: str
    ) -> bool: ...
