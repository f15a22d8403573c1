"""A run's saved credentials: the values its placeholders name, opened for typing only, and
the codes of an authenticator secret saved with a password.

Codes follow RFC 6238 (HMAC-SHA1, 30-second windows, 6 digits). A code about to expire is
likely to be refused by the time the form is sent, so with fewer than `FRESH_SECONDS` left in
its window the next window's code is taken instead (sites accept the adjacent window).
"""

from __future__ import annotations

import json
import logging
from datetime import datetime

import pyotp

from altostratus.domain import credentials as dc
from altostratus.domain.view import RunView
from altostratus.ports.credentials import CredentialStore
from altostratus.ports.secret_box import SecretBox

WINDOW_SECONDS = 30
# Debug lines name the credentials a run opened, never a value.
log = logging.getLogger(__name__)
FRESH_SECONDS = 20


def authenticator_code(secret: str, now: datetime) -> str:
    """The code to type now: this window's, or the next one's when fewer than 20 s remain."""
    totp = pyotp.TOTP(dc.normalized_totp_secret(secret), interval=WINDOW_SECONDS)
    at = now.timestamp()
    remaining = WINDOW_SECONDS - (at % WINDOW_SECONDS)
    return totp.at(at + WINDOW_SECONDS if remaining < FRESH_SECONDS else at)


class RunVault:
    """Opens the credentials of a run's organization that the run's request names."""

    def __init__(self, store: CredentialStore, box: SecretBox) -> None:
        self._store = store
        self._box = box

    def _opened(self, view: RunView) -> list[tuple[str, str, dict[str, str]]]:
        found = []
        for credential_id in dc.referenced_credentials(json.dumps(view.request)):
            stored = self._store.get(view.org_id, credential_id)
            if stored is None:
                log.debug(
                    "run %s names credential %s, which its organization does not have",
                    view.run_id,
                    credential_id,
                    extra={"run_id": view.run_id, "credential_id": credential_id},
                )
                continue
            values = json.loads(self._box.unseal(stored.sealed, context=credential_id))
            log.debug(
                "run %s opened credential %s (%s)",
                view.run_id,
                credential_id,
                stored.credential_type,
                extra={
                    "run_id": view.run_id,
                    "credential_id": credential_id,
                    "credential_type": stored.credential_type,
                },
            )
            found.append((credential_id, stored.credential_type, values))
        return found

    def secrets(self, view: RunView) -> dict[str, str]:
        """Placeholder name -> value, for every typed field of the credentials the run names."""
        named: dict[str, str] = {}
        for credential_id, kind, values in self._opened(view):
            for field in dc.TYPED_FIELDS.get(kind, ()):
                value = values.get(field)
                if isinstance(value, str) and value:
                    named[dc.placeholder_name(credential_id, field)] = value
        return named

    def authenticator(self, view: RunView) -> str | None:
        """The authenticator secret of the first password credential the run names that has one."""
        for _, kind, values in self._opened(view):
            secret = values.get("totp")
            method = values.get("totp_type")
            if (
                kind == "password"
                and isinstance(secret, str)
                and secret
                and method in (None, "authenticator")
            ):
                return secret
        return None
