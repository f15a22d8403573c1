"""Events table stream -> one EventBridge event per run event (altostratus.publishing)."""

from __future__ import annotations

from typing import Any

from aws_lambda_powertools import Logger, Metrics, Tracer
from aws_lambda_powertools.metrics import MetricUnit
from aws_lambda_powertools.utilities.batch import BatchProcessor, EventType, process_partial_response
from aws_lambda_powertools.utilities.batch.types import PartialItemFailureResponse
from aws_lambda_powertools.utilities.data_classes.dynamo_db_stream_event import DynamoDBRecord
from aws_lambda_powertools.utilities.typing import LambdaContext

from altostratus.runtimes.aws import publisher
from altostratus.runtimes.logs import route_package_logs

logger = Logger(service="altostratus-publisher")
route_package_logs(logger)  # the package's request and run lines go out as this function's JSON
tracer = Tracer(service="altostratus-publisher")
metrics = Metrics(namespace="Altostratus", service="altostratus-publisher")
processor = BatchProcessor(event_type=EventType.DynamoDBStreams, raise_on_entire_batch_failure=False)


def publish(record: DynamoDBRecord) -> None:
    if publisher().publish_record(record) is not None:
        metrics.add_metric(name="EventsPublished", unit=MetricUnit.Count, value=1)


@logger.inject_lambda_context
@tracer.capture_lambda_handler
@metrics.log_metrics
def handler(event: dict[str, Any], context: LambdaContext) -> PartialItemFailureResponse:
    return process_partial_response(event=event, record_handler=publish, processor=processor, context=context)
