"""Webhook delivery: signed POSTs of a run's end, retried, recorded in the run's log.

Embedded: `DeliveryWorker` (a persistent queue fed by the in-process bus). AWS: `QueueDelivery`
(SQS fed by the EventBridge rule). Both call `WebhookDeliverer`; `WebhookReplayService` serves
retry_run_webhook and `CallbackAddressCheck` refuses private callback addresses at submission.
"""

from altostratus.webhooks.checks import CallbackAddressCheck
from altostratus.webhooks.delivery import (
    DeliveryOutcome,
    DeliveryStep,
    WebhookDeliverer,
    automatic_delivery_id,
    delivery_record,
)
from altostratus.webhooks.policy import WebhookRetryPolicy
from altostratus.webhooks.replay import WebhookReplayService
from altostratus.webhooks.sender import AttemptResult, WebhookSender
from altostratus.webhooks.sqs import QueueDelivery
from altostratus.webhooks.worker import DeliveryWorker

__all__ = [
    "AttemptResult",
    "CallbackAddressCheck",
    "DeliveryOutcome",
    "DeliveryStep",
    "DeliveryWorker",
    "QueueDelivery",
    "WebhookDeliverer",
    "WebhookReplayService",
    "WebhookRetryPolicy",
    "WebhookSender",
    "automatic_delivery_id",
    "delivery_record",
]
