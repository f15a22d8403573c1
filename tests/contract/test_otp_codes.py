"""The one-time-code contract (see altostratus.ports.otp_codes), on SQLite and DynamoDB."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from altostratus.adapters.dynamodb_otp_codes import DynamoDBOtpCodes
from altostratus.adapters.sqlite_db import SQLiteDatabase
from altostratus.adapters.sqlite_otp_codes import SQLiteOtpCodes
from altostratus.ports.errors import IntegrityError
from altostratus.ports.otp_codes import OtpCodes, StoredOtpCode
from tests.support.aws import moto_aws

T0 = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)


@pytest.fixture(params=["sqlite", "dynamodb"])
def codes(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[OtpCodes]:
    if request.param == "sqlite":
        db = SQLiteDatabase(tmp_path / "alto.db")
        yield SQLiteOtpCodes(db)
        db.close()
    else:
        with moto_aws() as aws:
            yield DynamoDBOtpCodes(aws.dynamodb, state_table=aws.state_table)


def code(n: int, *, org: str = "o_1", ident: str = "a@example.com", **kw: object) -> StoredOtpCode:
    return StoredOtpCode(
        totp_code_id=f"totp_{n}",
        org_id=org,
        identifier=ident,
        created_at=T0 + timedelta(seconds=n),
        sealed=f"sealed-{n}",
        **kw,  # type: ignore[arg-type]
    )


def test_recent_lists_the_identifiers_codes_newest_first_from_a_time(codes: OtpCodes) -> None:
    # GIVEN codes of two organizations and two identifiers, with every optional field on one
    full = code(
        3,
        expired_at=T0 + timedelta(minutes=5),
        task_id="tsk_1",
        workflow_id="wpid_1",
        workflow_run_id="wr_1",
        source="email",
        otp_type="totp",
        status="raw_pending",
    )
    for c in (code(1), code(2), full, code(4, org="o_2"), code(5, ident="b@example.com")):
        codes.add(c)
    # WHEN the organization's codes for one identifier are listed
    listed = codes.recent("o_1", "a@example.com", since=T0)
    # THEN only those, newest first, every field as stored
    assert [c.totp_code_id for c in listed] == ["totp_3", "totp_2", "totp_1"]
    assert listed[0] == full
    later = codes.recent("o_1", "a@example.com", since=T0 + timedelta(seconds=2))
    assert [c.totp_code_id for c in later] == ["totp_3", "totp_2"]
    assert [c.totp_code_id for c in codes.recent("o_1", "a@example.com", since=T0, limit=1)] == ["totp_3"]
    assert codes.recent("o_2", "b@example.com", since=T0) == []


def test_an_id_is_added_once(codes: OtpCodes) -> None:
    codes.add(code(1))
    with pytest.raises(IntegrityError):
        codes.add(code(1))


def test_a_code_is_used_once_however_many_runs_ask_at_once(codes: OtpCodes) -> None:
    # GIVEN one code
    codes.add(code(1))
    wins: list[str] = []
    barrier = threading.Barrier(6)

    def take(run: str) -> None:
        barrier.wait()
        if codes.mark_used(
            "o_1", "a@example.com", created_at=code(1).created_at, totp_code_id="totp_1", run_id=run
        ):
            wins.append(run)

    # WHEN six runs try to use it together
    threads = [threading.Thread(target=take, args=(f"tsk_{n}",)) for n in range(6)]
    for th in threads:
        th.start()
    for th in threads:
        th.join()
    # THEN exactly one did, and the listing says which
    assert len(wins) == 1
    assert codes.recent("o_1", "a@example.com", since=T0)[0].used_by == wins[0]
    again = codes.mark_used(
        "o_1", "a@example.com", created_at=code(1).created_at, totp_code_id="totp_1", run_id="tsk_9"
    )
    assert again is False
    missing = codes.mark_used(
        "o_1", "a@example.com", created_at=code(7).created_at, totp_code_id="totp_7", run_id="tsk_9"
    )
    assert missing is False
