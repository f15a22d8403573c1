"""The JSON of the credential vault: what a caller sends to save a credential, and the
response, which carries only what Skyvern's SDK types allow (never a password, a TOTP secret,
a card number or CVV, or a secret value)."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

CredentialType = Literal["password", "credit_card", "secret"]
TotpType = Literal["authenticator", "email", "text", "passkey", "none"]


class PasswordCredential(BaseModel):
    model_config = ConfigDict(extra="forbid")

    username: str = Field(min_length=1)
    password: str = Field(min_length=1)
    totp: str | None = Field(
        default=None, description="The authenticator app's secret (base32): codes are made from it."
    )
    totp_type: TotpType | None = None
    totp_identifier: str | None = Field(
        default=None, description="Who the pushed codes are for (an email address or a phone number)."
    )


class CreditCardCredential(BaseModel):
    model_config = ConfigDict(extra="forbid")

    card_number: str = Field(min_length=4)
    card_cvv: str = Field(min_length=1)
    card_exp_month: str = Field(min_length=1)
    card_exp_year: str = Field(min_length=1)
    card_brand: str = Field(min_length=1)
    card_holder_name: str = Field(min_length=1)
    billing_address: dict[str, Any] | None = None
    billing_email: str | None = None
    billing_phone: str | None = None
    metadata: dict[str, str | None] | None = None


class SecretCredential(BaseModel):
    model_config = ConfigDict(extra="forbid")

    secret_value: str = Field(min_length=1)
    secret_label: str | None = None


CREDENTIAL_MODELS: dict[str, type[BaseModel]] = {
    "password": PasswordCredential,
    "credit_card": CreditCardCredential,
    "secret": SecretCredential,
}


class CredentialCreate(BaseModel):
    """A credential to save (or the new state of a saved one)."""

    model_config = ConfigDict(extra="ignore")

    name: str = Field(min_length=1, max_length=200, examples=["Example login"])
    credential_type: CredentialType
    credential: PasswordCredential | CreditCardCredential | SecretCredential = Field(
        description="The values, in the shape of `credential_type`."
    )
    vault_type: Literal["skyvern"] | None = Field(
        default=None, description="Only this deployment's own vault is served."
    )
    proxy_location: Any = None
    proxy_session_id: str | None = None
    rotate_proxy_session_id: bool | None = None
    tested_url: str | None = None


class PasswordCredentialShown(BaseModel):
    username: str
    totp_type: TotpType | None = None
    totp_identifier: str | None = None


class CreditCardCredentialShown(BaseModel):
    last_four: str
    brand: str


class SecretCredentialShown(BaseModel):
    secret_label: str | None = None


class CredentialResponse(BaseModel):
    credential_id: str = Field(examples=["cred_1234"])
    credential: PasswordCredentialShown | CreditCardCredentialShown | SecretCredentialShown
    credential_type: CredentialType
    name: str
    vault_type: Literal["skyvern"] = "skyvern"
    browser_profile_id: str | None = None
    tested_url: str | None = None
    user_context: str | None = None
    save_browser_session_intent: bool | None = None
    folder_id: str | None = None
    proxy_location: Any = None
    proxy_session_id: str | None = None


class LoginRequest(BaseModel):
    """Skyvern's login: a run that signs in to `url` with a saved credential."""

    model_config = ConfigDict(extra="ignore")

    credential_type: str = Field(
        description="Where the credential is kept; this deployment serves `skyvern`."
    )
    credential_id: str | None = Field(default=None, description="The saved credential to sign in with.")
    url: str | None = None
    prompt: str | None = Field(default=None, description="Extra login instructions (the goal is built in).")
    webhook_url: str | None = None
    proxy_location: Any = None
    totp_identifier: str | None = None
    totp_url: str | None = None
    browser_session_id: str | None = None
    browser_address: str | None = None
    extra_http_headers: dict[str, str | None] | None = None
    max_screenshot_scrolling_times: int | None = None


class LoginRunResponse(BaseModel):
    """The login run as Skyvern's SDK reads it (a workflow run's answer): the run's fields
    without its request, which the SDK would read as a workflow's."""

    model_config = ConfigDict(extra="allow")

    run_id: str
    status: str
    created_at: str
    modified_at: str
    failure_reason: str | None = None
    app_url: str | None = None
    browser_session_id: str | None = None
