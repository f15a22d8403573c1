"""moto helpers: every AWS resource the tests need, created the way template.yaml declares it."""

from __future__ import annotations

import os
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

import boto3
from moto import mock_aws

from altostratus.adapters.dynamodb_event_log import create_tables


class SerializedClient:
    """A boto3 client whose calls take turns.

    moto's backends are not thread-safe (concurrent requests corrupt its dicts), while real
    AWS serializes each item's writes; one lock around every call gives moto that behaviour
    without hiding the races our code must handle (read-then-conditional-write still loses).
    """

    _lock = threading.Lock()

    def __init__(self, client: Any) -> None:
        self._client = client

    def __getattr__(self, name: str) -> Any:
        attr = getattr(self._client, name)
        if not callable(attr):
            return attr

        def call(*args: Any, **kwargs: Any) -> Any:
            with SerializedClient._lock:
                return attr(*args, **kwargs)

        return call


@dataclass
class MotoAws:
    dynamodb: Any
    events_table: str = "alto-events"
    state_table: str = "alto-state"
    bucket: str = "alto-artifacts"
    master_key_secret_arn: str = ""

    def environment(self) -> dict[str, str]:
        """The variables template.yaml gives every function."""
        return {
            "ALTO_RUNTIME": "aws",
            "ALTO_EVENTS_TABLE": self.events_table,
            "ALTO_STATE_TABLE": self.state_table,
            "ALTO_ARTIFACTS_BUCKET": self.bucket,
            "ALTO_MASTER_KEY_SECRET_ARN": self.master_key_secret_arn,
        }


@contextmanager
def moto_aws(config: dict[str, Any] | None = None) -> Iterator[MotoAws]:
    """moto with the tables, bucket and master-key secret that template.yaml declares."""
    with mock_aws(config=config) if config else mock_aws():
        aws = MotoAws(dynamodb=SerializedClient(boto3.client("dynamodb", region_name="us-east-1")))
        create_tables(aws.dynamodb, events_table=aws.events_table, state_table=aws.state_table)
        boto3.client("s3", region_name="us-east-1").create_bucket(Bucket=aws.bucket)
        secret = boto3.client("secretsmanager", region_name="us-east-1").create_secret(
            Name="alto-master-key", SecretString=os.urandom(32).hex()
        )
        aws.master_key_secret_arn = secret["ARN"]
        yield aws
