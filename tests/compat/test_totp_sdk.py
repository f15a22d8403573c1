"""Pushing one-time codes with the official SDK's `send_totp_code` against `alto serve`."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

import httpx
import pytest
from skyvern.client.core.api_error import ApiError

from tests.compat.conftest import Compat

EMAIL_BODY = (
    "Hi John,\n\nSomeone is trying to sign in to your Example account from a new device.\n"
    "Your verification code is 482913. It expires in 10 minutes.\n\n"
    "If this wasn't you, reset your password at https://example.com/reset\n"
)


def test_a_bare_code_is_stored_for_the_case_folded_identifier(compat: Compat) -> None:
    # WHEN a short code is pushed for an email address written with capitals and spaces
    code = compat.client().send_totp_code(totp_identifier="  John.Doe@Example.COM ", content=" 771204 ")
    # THEN it is the code, for the normalised address, in the caller's organization
    assert code.code == "771204"
    assert code.totp_identifier == "john.doe@example.com"
    assert code.totp_code_id.startswith("totp_")
    assert code.otp_type == "totp"
    assert code.content == " 771204 "
    assert code.created_at.tzinfo is None  # Skyvern's naive UTC
    assert code.organization_id
    # AND the store holds it sealed: neither the code nor the message in the clear
    stored = compat.store.local.stores.otp_codes
    assert stored is not None
    listed = stored.recent(
        code.organization_id, "john.doe@example.com", since=datetime(2020, 1, 1, tzinfo=UTC)
    )
    assert [c.totp_code_id for c in listed][:1] == [code.totp_code_id]
    assert "771204" not in json.dumps([c.sealed for c in listed])
    # AND a phone number is kept exactly as given
    phone = compat.client().send_totp_code(totp_identifier="+1 415 555 0100", content="9911")
    assert phone.totp_identifier == "+1 415 555 0100"


def test_an_email_body_yields_its_code_and_a_link_only_message_a_magic_link(compat: Compat) -> None:
    client = compat.client()
    # WHEN a whole email body is pushed
    code = client.send_totp_code(totp_identifier="john@example.com", content=EMAIL_BODY, source="email")
    # THEN the code near "verification code" is found (no model involved: this server has none)
    assert (code.code, code.otp_type, code.source) == ("482913", "totp", "email")
    assert code.content == EMAIL_BODY
    # AND the other wordings too
    assert client.send_totp_code(totp_identifier="j", content="481516 is your Example OTP").code == "481516"
    assert (
        client.send_totp_code(totp_identifier="j", content="Use the code: AB12CD to sign in").code == "AB12CD"
    )
    link = client.send_totp_code(
        totp_identifier="j", content="Click https://example.com/magic?t=abc123 to sign in to Example."
    )
    assert (link.code, link.otp_type) == ("https://example.com/magic?t=abc123", "magic_link")


def test_a_message_without_a_code_is_kept_raw_pending(compat: Compat) -> None:
    reply = httpx.Client(base_url=compat.server.base_url, timeout=30).post(
        "/v1/credentials/totp",
        headers={"x-api-key": compat.key},
        json={"totp_identifier": "j", "content": "Thanks for signing up to our newsletter, John!"},
    )
    assert reply.status_code == 200, reply.text
    body = reply.json()
    assert (body["code"], body["status"], body["otp_type"]) == ("", "raw_pending", None)
    # Through the SDK it parses as a TotpCode too
    code = compat.client().send_totp_code(
        totp_identifier="j", content="Welcome aboard, nothing to type here."
    )
    assert code.code == ""


def test_scopes_and_expiry_are_kept_and_ids_must_be_the_callers(compat: Compat) -> None:
    client = compat.client()
    run = client.run_task(prompt="Sign in", url="https://example.com")
    expires = datetime.now(UTC) + timedelta(minutes=3)
    # WHEN a code is pushed for the caller's own run, with an expiry
    code = client.send_totp_code(
        totp_identifier="j", content="123456", task_id=run.run_id, expired_at=expires
    )
    # THEN it is stored scoped to it
    assert code.task_id == run.run_id
    assert code.expired_at is not None
    assert abs(code.expired_at.replace(tzinfo=UTC) - expires) < timedelta(seconds=1)
    # AND another organization cannot scope a code to that run, and unknown ids are refused
    for kwargs, detail in (
        ({"task_id": run.run_id}, f"Invalid task id: {run.run_id}"),
        ({"task_id": "tsk_v2_404"}, "Invalid task id: tsk_v2_404"),
        ({"workflow_run_id": "wr_404"}, "Invalid workflow run id: wr_404"),
        ({"workflow_id": "wpid_404"}, "Invalid workflow id: wpid_404"),
    ):
        with pytest.raises(ApiError) as refused:
            compat.client(compat.other_key).send_totp_code(totp_identifier="j", content="123456", **kwargs)  # type: ignore[arg-type]
        assert refused.value.status_code == 400
        assert refused.value.body == {"detail": detail}


def test_bad_pushes_are_specific_4xx(compat: Compat) -> None:
    http = httpx.Client(base_url=compat.server.base_url, timeout=30)
    headers = {"x-api-key": compat.key}
    missing = http.post("/v1/credentials/totp", headers=headers, json={"totp_identifier": "j"})
    assert missing.status_code == 422
    assert missing.json()["detail"][0]["loc"] == ["body", "content"]
    huge = http.post(
        "/v1/credentials/totp", headers=headers, json={"totp_identifier": "j", "content": "x " * 40000}
    )
    assert huge.status_code == 400
    assert huge.json() == {"detail": "Failed to parse otp login"}
    no_key = http.post("/v1/credentials/totp", json={"totp_identifier": "j", "content": "1234"})
    assert no_key.status_code == 403
