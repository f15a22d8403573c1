"""SQS (EventBridge rule: terminal events with a webhook URL) -> signed POST (altostratus.webhooks)."""

from typing import Any

from aws_lambda_powertools import Logger, Metrics, Tracer
from aws_lambda_powertools.metrics import MetricUnit
from aws_lambda_powertools.utilities.batch import BatchProcessor, EventType, process_partial_response
from aws_lambda_powertools.utilities.batch.types import PartialItemFailureResponse
from aws_lambda_powertools.utilities.data_classes.sqs_event import SQSRecord
from aws_lambda_powertools.utilities.typing import LambdaContext

from altostratus.runtimes.aws import webhook_delivery
from altostratus.runtimes.logs import route_package_logs
from altostratus.webhooks.sqs import OUTCOME_METRICS, settle

logger = Logger(service="altostratus-webhook")
route_package_logs(logger)  # the package's request and run lines go out as this function's JSON
tracer = Tracer(service="altostratus-webhook")
metrics = Metrics(namespace="Altostratus", service="altostratus-webhook")
processor = BatchProcessor(event_type=EventType.SQS, raise_on_entire_batch_failure=False)


def deliver(record: SQSRecord) -> None:
    step = webhook_delivery().deliver_record(record)
    metrics.add_metric(name=OUTCOME_METRICS[step.outcome], unit=MetricUnit.Count, value=1)
    settle(step)  # a retry or an exhausted delivery stays on the queue (then the DLQ)


@logger.inject_lambda_context
@tracer.capture_lambda_handler
@metrics.log_metrics
def handler(event: dict[str, Any], context: LambdaContext) -> PartialItemFailureResponse:
    return process_partial_response(event=event, record_handler=deliver, processor=processor, context=context)
