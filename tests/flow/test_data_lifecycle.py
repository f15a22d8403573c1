"""A run's records expire with its retention on AWS (moto): every item written for the run
carries the TTL attribute, which lands no later than its artifacts' expiry; a run past its
retention is gone for readers at once, before TTL gets round to deleting it."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta

import boto3
import pytest

from altostratus.adapters.dynamodb_event_log import DynamoDBEventLog
from altostratus.domain import events as ev
from altostratus.domain.enums import ArtifactType
from tests.support.aws import MotoAws, moto_aws
from tests.support.clock import FakeClock
from tests.support.runs import created, d

RETENTION_DAYS = 30


@pytest.fixture
def aws() -> Iterator[MotoAws]:
    with moto_aws() as aws:
        yield aws


def test_every_item_of_a_run_expires_at_its_submission_plus_the_retention(aws: MotoAws) -> None:
    clock = FakeClock()
    log = DynamoDBEventLog(
        aws.dynamodb,
        events_table=aws.events_table,
        state_table=aws.state_table,
        clock=clock,
        retention_days=RETENTION_DAYS,
    )
    stored = ev.ArtifactStored(
        artifact_id="a_1", artifact_type=ArtifactType.SCREENSHOT_FINAL, uri="s3://b/runs/o/r/a_1.png",
        content_type="image/png", file_size=3,
    )  # fmt: skip
    log.append("tsk_1", [created("o_1"), d(ev.RunQueued())])
    clock.advance(timedelta(hours=1))
    log.append("tsk_1", [d(ev.RunStarted()), ev.Draft(data=stored, event_id="art-1")])
    view = log.get_view("tsk_1")
    assert view is not None
    expected = int((view.created_at + timedelta(days=RETENTION_DAYS)).timestamp())

    ddb = boto3.client("dynamodb", region_name="us-east-1")
    events = ddb.scan(TableName=aws.events_table)["Items"]
    state = ddb.scan(TableName=aws.state_table)["Items"]
    assert len(events) == 4
    kinds = sorted(i["pk"]["S"].split("#")[0] + "/" + i["sk"]["S"].split("#")[0] for i in state)
    # The view, the artifact's record and its ref, the marker of the caller-given event id.
    assert kinds == ["artifact/ref", "run/artifact", "run/event", "run/view"]
    for item in events + state:
        assert int(item["expiration"]["N"]) == expected, item


def test_a_run_past_its_retention_is_gone_before_ttl_deletes_it(aws: MotoAws) -> None:
    clock = FakeClock()
    log = DynamoDBEventLog(
        aws.dynamodb,
        events_table=aws.events_table,
        state_table=aws.state_table,
        clock=clock,
        retention_days=RETENTION_DAYS,
    )
    log.append("tsk_1", [created("o_1"), d(ev.RunQueued())])
    clock.advance(timedelta(days=RETENTION_DAYS, seconds=-60))
    assert log.get_view("tsk_1") is not None
    clock.advance(timedelta(seconds=120))
    assert log.get_view("tsk_1") is None  # its artifacts may already be expiring


def test_without_a_retention_nothing_expires(aws: MotoAws) -> None:
    log = DynamoDBEventLog(
        aws.dynamodb, events_table=aws.events_table, state_table=aws.state_table, clock=FakeClock()
    )
    log.append("tsk_1", [created("o_1"), d(ev.RunQueued())])
    items = boto3.client("dynamodb", region_name="us-east-1").scan(TableName=aws.state_table)["Items"]
    assert items and not any("expiration" in i for i in items)
