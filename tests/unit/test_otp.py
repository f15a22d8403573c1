"""Which pushed code a run may type, and what a pushed message's code is."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from altostratus.domain import otp

START = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)
UNSCOPED = otp.CodeScope()
RUN = otp.RunAsking(run_id="tsk_1", started_at=START)


def usable(
    scope: otp.CodeScope = UNSCOPED,
    *,
    pushed: float = 5,
    expires: float | None = None,
    used: bool = False,
    now: float = 30,
) -> bool:
    return otp.may_use(
        scope,
        created_at=START + timedelta(seconds=pushed),
        expired_at=START + timedelta(seconds=expires) if expires is not None else None,
        used=used,
        run=RUN,
        now=START + timedelta(seconds=now),
    )


def test_an_unscoped_code_is_usable_once_only_when_pushed_after_the_start_and_alive() -> None:
    assert usable()
    assert not usable(pushed=-1)  # pushed before the run started
    assert not usable(used=True)
    assert not usable(expires=20)
    assert not usable(now=5 + otp.CODE_LIFESPAN.total_seconds())


def test_a_scoped_code_is_only_for_the_run_it_names() -> None:
    assert usable(otp.CodeScope(task_id="tsk_1"), pushed=-30)
    assert not usable(otp.CodeScope(task_id="tsk_2"))
    assert not usable(otp.CodeScope(workflow_run_id="wr_1"))


def test_messages_yield_their_code_without_a_model() -> None:
    assert otp.parse_content(" 123456 ") == otp.ParsedOtp("123456", otp.OtpType.TOTP)
    assert otp.parse_content("Your Example verification code is: 904512. Do not share it.") == otp.ParsedOtp(
        "904512", otp.OtpType.TOTP
    )
    assert otp.parse_content("Order 2024 shipped. Your OTP: 5521") == otp.ParsedOtp("5521", otp.OtpType.TOTP)
    link = otp.parse_content("Sign in with this link: https://example.com/l?t=1.")
    assert link == otp.ParsedOtp("https://example.com/l?t=1", otp.OtpType.MAGIC_LINK)
    assert otp.parse_content("Thanks for subscribing to our newsletter!") is None


def test_email_identifiers_are_case_folded_others_kept() -> None:
    assert otp.normalize_identifier(" John@Example.COM ") == "john@example.com"
    assert otp.normalize_identifier("User_A") == "User_A"


def test_the_model_is_believed_only_for_what_the_message_contains() -> None:
    message = "Hello, type these digits when asked: 5 5 1 2 0 9. Or open https://example.com/in?t=1"
    assert otp.from_model({"code": "551209", "magic_link": None}, message) == otp.ParsedOtp(
        "551209", otp.OtpType.TOTP
    )
    # a code the message does not carry is an invention, not a reading
    assert otp.from_model({"code": "123456", "magic_link": None}, message) is None
    assert otp.from_model(
        {"code": None, "magic_link": "https://example.com/in?t=1"}, message
    ) == otp.ParsedOtp("https://example.com/in?t=1", otp.OtpType.MAGIC_LINK)
    assert otp.from_model({"code": None, "magic_link": "https://evil.example/"}, message) is None
    assert otp.from_model("551209", message) is None
