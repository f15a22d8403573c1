"""The run fails with a reason a person understands, from either of two sources:

- the state machine's Catch target "Record failure" (`{"run_id", "error"}`);
- the execution-status rule (EventBridge -> SQS): executions that ended FAILED, TIMED_OUT or
  ABORTED without their run ending (an error no Catch takes, "Record failure" failing, the
  machine's time limit, an operator's stop).
"""

from __future__ import annotations

import json
from typing import Any

from aws_lambda_powertools import Logger, Metrics, Tracer
from aws_lambda_powertools.metrics import MetricUnit
from aws_lambda_powertools.utilities.batch import BatchProcessor, EventType, process_partial_response
from aws_lambda_powertools.utilities.data_classes.sqs_event import SQSRecord
from aws_lambda_powertools.utilities.typing import LambdaContext

from altostratus.runtimes.aws import execution_ends, lifecycle
from altostratus.runtimes.logs import route_package_logs

logger = Logger(service="altostratus-run-failed")
route_package_logs(logger)  # the package's request and run lines go out as this function's JSON
tracer = Tracer(service="altostratus-run-failed")
metrics = Metrics(namespace="Altostratus", service="altostratus-run-failed")
processor = BatchProcessor(event_type=EventType.SQS, raise_on_entire_batch_failure=False)


def execution_ended(record: SQSRecord) -> None:
    change = json.loads(record.body)
    result = execution_ends().record(change["detail"])
    if result["recorded"]:
        metrics.add_metric(name="RunsEndedByExecutionStatus", unit=MetricUnit.Count, value=1)


@logger.inject_lambda_context
@tracer.capture_lambda_handler
@metrics.log_metrics
def handler(event: dict[str, Any], context: LambdaContext) -> Any:
    if "Records" in event:
        return process_partial_response(
            event=event, record_handler=execution_ended, processor=processor, context=context
        )
    logger.append_keys(run_id=event.get("run_id"))
    result = lifecycle().failed(event)
    metrics.add_dimension(name="status", value=str(result["status"]))
    metrics.add_metric(name="RunsFinished", unit=MetricUnit.Count, value=1)
    return result
