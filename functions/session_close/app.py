"""The target of each browser session's timeout schedule: closes the session at its deadline
(a run still using it then fails with the reason), or sets the schedule again if the session
was extended since."""

from __future__ import annotations

from typing import Any

from aws_lambda_powertools import Logger, Metrics, Tracer
from aws_lambda_powertools.metrics import MetricUnit
from aws_lambda_powertools.utilities.typing import LambdaContext

from altostratus.runtimes.aws import session_closer
from altostratus.runtimes.logs import route_package_logs

logger = Logger(service="altostratus-session-close")
route_package_logs(logger)
tracer = Tracer(service="altostratus-session-close")
metrics = Metrics(namespace="Altostratus", service="altostratus-session-close")


@logger.inject_lambda_context
@tracer.capture_lambda_handler
@metrics.log_metrics
def handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    session_id = str(event.get("session_id") or "")
    logger.append_keys(session_id=session_id)
    done = session_closer().timer_fired(session_id) if session_id else "ended"
    if done == "closed":
        metrics.add_metric(name="SessionsTimedOut", unit=MetricUnit.Count, value=1)
    return {"session_id": session_id, "result": done}
