"""State machine task "Finish run": the run's one terminal event, and a metric per status."""

from __future__ import annotations

from typing import Any

from aws_lambda_powertools import Logger, Metrics, Tracer
from aws_lambda_powertools.metrics import MetricUnit
from aws_lambda_powertools.utilities.typing import LambdaContext

from altostratus.runtimes.aws import lifecycle
from altostratus.runtimes.logs import route_package_logs

logger = Logger(service="altostratus-run-finish")
route_package_logs(logger)  # the package's request and run lines go out as this function's JSON
tracer = Tracer(service="altostratus-run-finish")
metrics = Metrics(namespace="Altostratus", service="altostratus-run-finish")


@logger.inject_lambda_context
@tracer.capture_lambda_handler
@metrics.log_metrics
def handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    logger.append_keys(run_id=event.get("run_id"))
    result = lifecycle().finish(event)
    metrics.add_dimension(name="status", value=str(result["status"]))
    metrics.add_metric(name="RunsFinished", unit=MetricUnit.Count, value=1)
    return result
