"""The submission check of callback addresses: `webhook_url` and `totp_url` must not point at
loopback, link-local (the cloud metadata service), private or reserved addresses, unless the
operator allowed them (ALTO_ALLOWED_TARGETS). Delivery checks again: DNS answers change."""

from __future__ import annotations

from altostratus.domain.errors import RequestRefusedError
from altostratus.domain.run_request import RunTaskRequest
from altostratus.security.callback_targets import CallbackTargets
from altostratus.security.targets import ALLOWED_TARGETS_ENV

CHECKED_FIELDS = ("webhook_url", "totp_url")


def refused_message(field: str, reason: str) -> str:
    return (
        f"{field} is not allowed: {reason}. The backend does not call private, loopback or link-local "
        f"addresses; the operator can allow a host or range with {ALLOWED_TARGETS_ENV}."
    )


class CallbackAddressCheck:
    """A `submission_checks` entry: 400 with the reason for a refused callback address."""

    def __init__(self, targets: CallbackTargets) -> None:
        self.targets = targets

    def __call__(self, request: RunTaskRequest) -> None:
        for field in CHECKED_FIELDS:
            url = getattr(request, field)
            if url is None:
                continue
            reason = self.targets.refusal(url)
            if reason is not None:
                raise RequestRefusedError(refused_message(field, reason))
