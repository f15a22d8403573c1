"""Scheduled: runs left queued with no execution get one started; runs whose execution ended
before they started are failed with a reason."""

from __future__ import annotations

from typing import Any

from aws_lambda_powertools import Logger, Metrics, Tracer
from aws_lambda_powertools.metrics import MetricUnit
from aws_lambda_powertools.utilities.typing import LambdaContext

from altostratus.runtimes.aws import sweeper
from altostratus.runtimes.logs import route_package_logs

logger = Logger(service="altostratus-run-sweeper")
route_package_logs(logger)  # the package's request and run lines go out as this function's JSON
tracer = Tracer(service="altostratus-run-sweeper")
metrics = Metrics(namespace="Altostratus", service="altostratus-run-sweeper")


@logger.inject_lambda_context
@tracer.capture_lambda_handler
@metrics.log_metrics
def handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    result = sweeper().sweep()
    metrics.add_metric(name="RunsStartedBySweeper", unit=MetricUnit.Count, value=len(result["started"]))
    metrics.add_metric(name="RunsFailedBySweeper", unit=MetricUnit.Count, value=len(result["failed"]))
    return result
