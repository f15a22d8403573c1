"""Saved credentials as a run sees them: placeholder names per field, and the check of an
authenticator secret (pure).

A run types a saved credential's values by writing `{{secret:<credential_id>.<field>}}`; the
engine opens the credential only to type them. An authenticator secret (the base32 key of an
RFC 6238 app) is never typed: the engine makes the current code from it when the page asks.
"""

from __future__ import annotations

import base64
import binascii
import re

# The fields a run may type, per credential type (the authenticator secret is not one of them).
TYPED_FIELDS: dict[str, tuple[str, ...]] = {
    "password": ("username", "password"),
    "credit_card": (
        "card_number",
        "card_cvv",
        "card_exp_month",
        "card_exp_year",
        "card_brand",
        "card_holder_name",
    ),
    "secret": ("secret_value",),
}
CREDENTIAL_REFERENCE = re.compile(r"\{\{secret:(cred_[A-Za-z0-9_-]+)\.[A-Za-z_]+\}\}")


def placeholder_name(credential_id: str, field: str) -> str:
    return f"{credential_id}.{field}"


def referenced_credentials(text: str) -> list[str]:
    """The credential ids a run's text names in placeholders, in order, once each."""
    return list(dict.fromkeys(CREDENTIAL_REFERENCE.findall(text)))


def normalized_totp_secret(secret: str) -> str:
    return re.sub(r"[\s-]", "", secret).upper()


def totp_secret_refusal(secret: str) -> str | None:
    """Why an authenticator secret cannot make codes, or None when it can."""
    key = normalized_totp_secret(secret)
    if key.startswith("OTPAUTH://"):
        return "give the authenticator's secret key (base32), not its otpauth:// link"
    try:
        decoded = base64.b32decode(key + "=" * (-len(key) % 8))
    except (binascii.Error, ValueError):
        return "the authenticator secret is not base32 (letters A-Z and digits 2-7)"
    if len(decoded) < 10:
        return "the authenticator secret is too short (at least 16 base32 characters)"
    return None


def login_goal(credential_id: str, extra: str | None = None) -> str:
    """The built-in goal of a login run: sign in with the credential's placeholders."""
    user = "{{secret:" + placeholder_name(credential_id, "username") + "}}"
    password = "{{secret:" + placeholder_name(credential_id, "password") + "}}"
    goal = (
        f"Log in to this website. Type the username {user} and the password {password} exactly as "
        "written (they are replaced by the real values when typed), then submit. If the site asks "
        "for a verification code, request it and enter it. The goal is reached when the page shows "
        "that you are signed in; do nothing else after that."
    )
    return goal + (f"\n\nAlso: {extra}" if extra else "")
