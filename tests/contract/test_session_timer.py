"""The session-timer contract (see altostratus.ports.session_timer) over its AWS adapter, an
EventBridge Scheduler one-time schedule per session, under moto."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import boto3
import pytest
from botocore.exceptions import ClientError
from moto import mock_aws

from altostratus.adapters.scheduler_session_timer import SchedulerSessionTimer, at_expression, schedule_name
from altostratus.ports.session_timer import SessionTimer

TARGET = "arn:aws:lambda:us-east-1:123456789012:function:session_close"
ROLE = "arn:aws:iam::123456789012:role/session-scheduler"


@pytest.fixture
def scheduler() -> Iterator[Any]:
    with mock_aws():
        client = boto3.client("scheduler", region_name="us-east-1")
        client.create_schedule_group(Name="sessions")
        yield client


@pytest.fixture
def timer(scheduler: Any) -> SessionTimer:
    return SchedulerSessionTimer(scheduler, target_arn=TARGET, role_arn=ROLE, group="sessions")


def _get(scheduler: Any, session_id: str) -> dict[str, Any]:
    found: dict[str, Any] = scheduler.get_schedule(Name=schedule_name(session_id), GroupName="sessions")
    return found


def test_arming_sets_one_schedule_at_the_deadline_and_arming_again_moves_it(
    timer: SessionTimer, scheduler: Any
) -> None:
    deadline = datetime(2030, 1, 2, 3, 4, 5, tzinfo=UTC)
    timer.arm("pbs_1", deadline)
    schedule = _get(scheduler, "pbs_1")
    assert schedule["ScheduleExpression"] == "at(2030-01-02T03:04:05)"
    assert schedule["ScheduleExpressionTimezone"] == "UTC"
    assert schedule["ActionAfterCompletion"] == "DELETE"
    assert schedule["Target"]["Arn"] == TARGET and schedule["Target"]["RoleArn"] == ROLE
    assert json.loads(schedule["Target"]["Input"]) == {"session_id": "pbs_1"}
    timer.arm("pbs_1", deadline + timedelta(minutes=15))
    assert _get(scheduler, "pbs_1")["ScheduleExpression"] == "at(2030-01-02T03:19:05)"
    names = [s["Name"] for s in scheduler.list_schedules(GroupName="sessions")["Schedules"]]
    assert names == [schedule_name("pbs_1")]


def test_disarming_removes_it_and_is_a_no_op_when_there_is_none(timer: SessionTimer, scheduler: Any) -> None:
    timer.arm("pbs_1", datetime(2030, 1, 1, tzinfo=UTC))
    timer.disarm("pbs_1")
    with pytest.raises(ClientError) as gone:
        _get(scheduler, "pbs_1")
    assert gone.value.response["Error"]["Code"] == "ResourceNotFoundException"
    timer.disarm("pbs_1")
    timer.disarm("pbs_never")


def test_the_schedule_never_fires_before_the_deadline() -> None:
    # The expression has whole seconds: a deadline between two is rounded up, not down.
    assert at_expression(datetime(2030, 1, 1, 0, 0, 0, 1, tzinfo=UTC)) == "at(2030-01-01T00:00:01)"
    local = datetime(2030, 1, 1, 1, 0, 0).astimezone()
    assert at_expression(local) == f"at({local.astimezone(UTC).strftime('%Y-%m-%dT%H:%M:%S')})"
