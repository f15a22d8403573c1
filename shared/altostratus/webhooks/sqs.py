"""The AWS `webhook` function's work on one SQS message (an EventBridge event from the rule).

Retries use the queue itself: after a failed attempt the message is hidden for the backoff
(ChangeMessageVisibility) and reported as a batch-item failure, so SQS hands it out again
then. The queue's `maxReceiveCount` equals the policy's `max_attempts`, so a message whose last
attempt failed is moved to the dead-letter queue by SQS on its next receive.
"""

from __future__ import annotations

from typing import Any

from aws_lambda_powertools.utilities.data_classes.sqs_event import SQSRecord
from aws_lambda_powertools.utilities.parser import parse
from pydantic import BaseModel, ConfigDict, Field

from altostratus.webhooks.delivery import (
    DeliveryOutcome,
    DeliveryStep,
    WebhookDeliverer,
    automatic_delivery_id,
)

# boto3 ships no type hints.
SQSClient = Any

# SQS hides a message for at most 12 hours.
_MAX_VISIBILITY_S = 43_200


class _Lenient(BaseModel):
    # A consumer reads only what it needs, so a detail that gains fields never dead-letters.
    model_config = ConfigDict(extra="ignore", populate_by_name=True)


class _EventRef(_Lenient):
    run_id: str
    type: str


class _DetailRef(_Lenient):
    event: _EventRef


class RunEventMessage(_Lenient):
    """The SQS body: the EventBridge event the rule matched (the `detail` of
    `publishing.PublishedDetail`). Powertools' EventBridgeModel is not used because it also
    requires `account`, which moto's events lack."""

    source: str
    detail_type: str = Field(alias="detail-type")
    detail: _DetailRef


class RetryScheduledError(Exception):
    """Reported as a batch-item failure: the message comes back after the backoff."""


class DeliveryExhaustedError(Exception):
    """The last attempt failed: failing the message once more sends it to the dead-letter queue."""


class QueueDelivery:
    def __init__(self, *, deliverer: WebhookDeliverer, sqs: SQSClient, queue_url: str | None) -> None:
        self._deliverer = deliverer
        self._sqs = sqs
        self._queue_url = queue_url

    def deliver_record(self, record: SQSRecord) -> DeliveryStep:
        """Make the delivery's next attempt; before a retry, hide the message for the backoff."""
        message = parse(event=record.json_body, model=RunEventMessage)
        run_id = message.detail.event.run_id
        receive_count = int(record.attributes.approximate_receive_count or 1)
        step = self._deliverer.deliver(
            run_id, delivery_id=automatic_delivery_id(run_id), receive_count=receive_count
        )
        if step.outcome is DeliveryOutcome.RETRY and self._queue_url:
            self._sqs.change_message_visibility(
                QueueUrl=self._queue_url,
                ReceiptHandle=record.receipt_handle,
                VisibilityTimeout=min(_MAX_VISIBILITY_S, round(step.delay_s)),
            )
        return step


def settle(step: DeliveryStep) -> None:
    """Raise for the outcomes that must leave the message on the queue (a batch-item failure)."""
    if step.outcome is DeliveryOutcome.RETRY:
        raise RetryScheduledError(f"attempt {step.attempt} failed; next in {step.delay_s:.1f} s")
    if step.outcome is DeliveryOutcome.FAILED and step.exhausted:
        raise DeliveryExhaustedError(f"gave up after {step.attempt} attempts")


# One metric per outcome, e.g. WebhooksDelivered.
OUTCOME_METRICS = {
    DeliveryOutcome.DELIVERED: "WebhooksDelivered",
    DeliveryOutcome.RETRY: "WebhookRetriesScheduled",
    DeliveryOutcome.FAILED: "WebhooksFailed",
    DeliveryOutcome.NOTHING_TO_DO: "WebhookMessagesAlreadyDone",
}
