"""State machine task "Start run": the run is marked started once admitted under its
organization's cap (or found already ended)."""

from __future__ import annotations

from typing import Any

from aws_lambda_powertools import Logger, Metrics, Tracer
from aws_lambda_powertools.metrics import MetricUnit
from aws_lambda_powertools.utilities.typing import LambdaContext

from altostratus.runtimes.aws import lifecycle
from altostratus.runtimes.logs import route_package_logs

logger = Logger(service="altostratus-run-start")
route_package_logs(logger)  # the package's request and run lines go out as this function's JSON
tracer = Tracer(service="altostratus-run-start")
metrics = Metrics(namespace="Altostratus", service="altostratus-run-start")


@logger.inject_lambda_context
@tracer.capture_lambda_handler
@metrics.log_metrics
def handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    logger.append_keys(run_id=event.get("run_id"))
    result = lifecycle().start(event)
    if not result["admitted"]:
        name = "RunsWaitingForSlot"  # the organization's runs hold every slot; it asks again later
    else:
        name = "RunsStarted" if result["continue"] else "RunsEndedBeforeStart"
    metrics.add_metric(name=name, unit=MetricUnit.Count, value=1)
    return result
