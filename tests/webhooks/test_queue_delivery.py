"""The webhook function's per-message decisions: hide the message for the backoff (Retry-After
included) before a retry, leave an exhausted delivery for the dead-letter queue, ack the rest."""

from __future__ import annotations

from typing import Any

import pytest
from aws_lambda_powertools.utilities.data_classes.sqs_event import SQSRecord

from altostratus.webhooks import DeliveryOutcome, DeliveryStep, QueueDelivery
from altostratus.webhooks.sqs import DeliveryExhaustedError, RetryScheduledError, settle
from tests.support.functions import load_event

RUN_ID = "tsk_v2_385015255283946657"  # the run of events/webhook_sqs_run_completed.json


class FakeDeliverer:
    def __init__(self, step: DeliveryStep) -> None:
        self.step = step
        self.calls: list[tuple[str, str | None, int]] = []

    def deliver(self, run_id: str, *, delivery_id: str | None = None, receive_count: int = 0) -> DeliveryStep:
        self.calls.append((run_id, delivery_id, receive_count))
        return self.step


class FakeSqs:
    def __init__(self) -> None:
        self.visibility: list[dict[str, Any]] = []

    def change_message_visibility(self, **kwargs: Any) -> None:
        self.visibility.append(kwargs)


def _record(receive_count: str = "4") -> SQSRecord:
    raw = load_event("webhook_sqs_run_completed")["Records"][0]
    raw["attributes"]["ApproximateReceiveCount"] = receive_count
    return SQSRecord(raw)


def _deliver(step: DeliveryStep) -> tuple[DeliveryStep, FakeDeliverer, FakeSqs]:
    deliverer, sqs = FakeDeliverer(step), FakeSqs()
    queue = QueueDelivery(deliverer=deliverer, sqs=sqs, queue_url="https://sqs.example/q")  # type: ignore[arg-type]
    return queue.deliver_record(_record()), deliverer, sqs


def test_a_retry_hides_the_message_for_the_backoff_and_fails_the_item() -> None:
    step, deliverer, sqs = _deliver(DeliveryStep(DeliveryOutcome.RETRY, attempt=2, delay_s=7.4))
    assert deliverer.calls == [(RUN_ID, f"msg_{RUN_ID}", 4)]
    assert sqs.visibility == [
        {
            "QueueUrl": "https://sqs.example/q",
            "ReceiptHandle": _record().receipt_handle,
            "VisibilityTimeout": 7,
        }
    ]
    with pytest.raises(RetryScheduledError):
        settle(step)


def test_a_wait_longer_than_sqs_allows_is_capped_at_twelve_hours() -> None:
    _, _, sqs = _deliver(DeliveryStep(DeliveryOutcome.RETRY, attempt=1, delay_s=10**6))
    assert sqs.visibility[0]["VisibilityTimeout"] == 43_200


def test_an_exhausted_delivery_stays_on_the_queue_for_the_dead_letter_redrive() -> None:
    step, _, sqs = _deliver(DeliveryStep(DeliveryOutcome.FAILED, attempt=3, reason="gave up", exhausted=True))
    assert sqs.visibility == []
    with pytest.raises(DeliveryExhaustedError):
        settle(step)


@pytest.mark.parametrize(
    "step",
    [
        DeliveryStep(DeliveryOutcome.DELIVERED, attempt=1),
        DeliveryStep(
            DeliveryOutcome.FAILED, attempt=1, reason="attempt 1 was not retried: the receiver answered 404"
        ),
        DeliveryStep(DeliveryOutcome.NOTHING_TO_DO),
    ],
)
def test_other_outcomes_are_acknowledged(step: DeliveryStep) -> None:
    settled, _, sqs = _deliver(step)
    settle(settled)  # no exception: the message is deleted
    assert sqs.visibility == []
