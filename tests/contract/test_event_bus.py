"""The event-bus contract (see altostratus.ports.bus), run against the in-process bus and
EventBridge (moto, a rule delivering to SQS): what a subscriber's pattern selects reaches it."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from typing import Any

import boto3
import pytest
from moto import mock_aws

from altostratus.adapters.eventbridge_bus import EventBridgeBus
from altostratus.adapters.inprocess_bus import InProcessBus
from altostratus.ports.bus import BusMessage, EventBus

# subscribe(pattern) -> a function returning the (detail-type, detail) pairs received so far
Subscribe = Callable[[dict[str, Any]], Callable[[], list[tuple[str, dict[str, Any]]]]]


@pytest.fixture(params=["in-process", "eventbridge"])
def bus(request: pytest.FixtureRequest) -> Iterator[tuple[EventBus, Subscribe]]:
    if request.param == "in-process":
        local = InProcessBus()

        def subscribe_local(pattern: dict[str, Any]) -> Callable[[], list[tuple[str, dict[str, Any]]]]:
            got: list[tuple[str, dict[str, Any]]] = []
            local.subscribe(
                f"s{len(got)}{id(got)}", pattern, lambda m: got.append((m.detail_type, dict(m.detail)))
            )
            return lambda: got

        yield local, subscribe_local
        return
    with mock_aws():
        events = boto3.client("events", region_name="us-east-1")
        sqs = boto3.client("sqs", region_name="us-east-1")
        events.create_event_bus(Name="alto")
        counter = iter(range(100))

        def subscribe_rule(pattern: dict[str, Any]) -> Callable[[], list[tuple[str, dict[str, Any]]]]:
            n = next(counter)
            url = sqs.create_queue(QueueName=f"q{n}")["QueueUrl"]
            arn = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])["Attributes"][
                "QueueArn"
            ]
            events.put_rule(Name=f"r{n}", EventBusName="alto", EventPattern=json.dumps(pattern))
            events.put_targets(Rule=f"r{n}", EventBusName="alto", Targets=[{"Id": "q", "Arn": arn}])

            def received() -> list[tuple[str, dict[str, Any]]]:
                out = []
                while batch := sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10).get("Messages", []):
                    for message in batch:
                        body = json.loads(message["Body"])
                        out.append((body["detail-type"], body["detail"]))
                        sqs.delete_message(QueueUrl=url, ReceiptHandle=message["ReceiptHandle"])
                return out

            return received

        yield EventBridgeBus(events, bus_name="alto"), subscribe_rule


def _message(kind: str, **detail: Any) -> BusMessage:
    return BusMessage(detail_type=kind, detail=detail, time=datetime(2026, 1, 31, tzinfo=UTC))


def test_a_subscriber_gets_what_its_pattern_selects_and_nothing_else(bus: tuple[EventBus, Subscribe]) -> None:
    publisher, subscribe = bus
    ends = subscribe({"source": ["altostratus"], "detail-type": ["RunCompleted", "RunFailed"]})
    everything = subscribe({"source": ["altostratus"]})
    publisher.publish(
        [_message("RunStarted", run_id="tsk_1"), _message("RunCompleted", run_id="tsk_1", output={"n": "é"})]
    )
    assert ends() == [("RunCompleted", {"run_id": "tsk_1", "output": {"n": "é"}})]
    assert [kind for kind, _ in everything()] == ["RunStarted", "RunCompleted"]


def test_patterns_can_select_on_the_detail(bus: tuple[EventBus, Subscribe]) -> None:
    publisher, subscribe = bus
    with_hook = subscribe({"source": ["altostratus"], "detail": {"webhook": [True]}})
    publisher.publish([_message("RunCompleted", webhook=False), _message("RunFailed", webhook=True)])
    assert [kind for kind, _ in with_hook()] == ["RunFailed"]


def test_a_large_batch_is_published_whole(bus: tuple[EventBus, Subscribe]) -> None:
    publisher, subscribe = bus
    everything = subscribe({"source": ["altostratus"]})
    publisher.publish([_message("StepStarted", n=i) for i in range(25)])
    assert sorted(detail["n"] for _, detail in everything()) == list(range(25))
