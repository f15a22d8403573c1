"""API Gateway HTTP API -> the Skyvern v1 routes (altostratus.api)."""

from __future__ import annotations

import re
from typing import Any

from aws_lambda_powertools import Logger, Metrics, Tracer
from aws_lambda_powertools.logging import correlation_paths
from aws_lambda_powertools.utilities.typing import LambdaContext

from altostratus.runtimes.aws import runtime
from altostratus.runtimes.logs import route_package_logs

logger = Logger(service="altostratus-api")
route_package_logs(logger)  # the package's request and run lines go out as this function's JSON
tracer = Tracer(service="altostratus-api")
metrics = Metrics(namespace="Altostratus", service="altostratus-api")
deployment = runtime()
app = deployment.api()
_RUN_IN_PATH = re.compile(r"/v1/runs/([^/]+)")


@logger.inject_lambda_context(correlation_id_path=correlation_paths.API_GATEWAY_HTTP)
# Responses are not copied into traces: they carry artifact bytes (base64) and signed links.
@tracer.capture_lambda_handler(capture_response=False)
@metrics.log_metrics
def handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    found = _RUN_IN_PATH.search(event.get("rawPath") or "")
    logger.append_keys(run_id=found.group(1) if found else None)
    deployment.answer_at(event)  # signed artifact links point where this request came
    return app.resolve(event, context)
