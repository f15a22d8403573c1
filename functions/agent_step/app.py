"""State machine task "Run agent steps": one time slice of the agent with Chromium."""

from __future__ import annotations

from typing import Any

from aws_lambda_powertools import Logger, Metrics, Tracer
from aws_lambda_powertools.metrics import MetricUnit
from aws_lambda_powertools.utilities.typing import LambdaContext

from altostratus.runtimes.aws import agent_slices
from altostratus.runtimes.logs import route_package_logs

logger = Logger(service="altostratus-agent-step")
route_package_logs(logger)  # the package's request and run lines go out as this function's JSON
tracer = Tracer(service="altostratus-agent-step")
metrics = Metrics(namespace="Altostratus", service="altostratus-agent-step")


@logger.inject_lambda_context
@tracer.capture_lambda_handler
@metrics.log_metrics
def handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    logger.append_keys(run_id=event.get("run_id"))
    result = agent_slices().run(event, remaining_s=lambda: context.get_remaining_time_in_millis() / 1000)
    metrics.add_metric(name="AgentSlices", unit=MetricUnit.Count, value=1)
    return result
