"""moto helpers: every AWS resource the tests need, created the way template.yaml declares it."""

from __future__ import annotations

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


@contextmanager
def moto_aws() -> Iterator[MotoAws]:
    with mock_aws():
        aws = MotoAws(dynamodb=SerializedClient(boto3.client("dynamodb", region_name="us-east-1")))
        create_tables(aws.dynamodb, events_table=aws.events_table, state_table=aws.state_table)
        yield aws
