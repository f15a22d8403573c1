"""What a person is told when the state machine gives up on a run."""

from __future__ import annotations

import json
from typing import Any

_INFRASTRUCTURE = {
    "Lambda.ServiceException",
    "Lambda.AWSLambdaException",
    "Lambda.SdkClientException",
    "Lambda.TooManyRequestsException",
    "Lambda.ClientExecutionTimeoutException",
}
# The agent_step function itself died: its time limit, or out of memory.
_FUNCTION_DIED = {"Lambda.Unknown", "Sandbox.Timedout"}


def failure_reason(error: Any) -> str:
    """A reason for `failure_reason` from the Catch output (`{"Error", "Cause"}`).

    Only messages this project writes itself (TransientStepError) are quoted: another error's
    message can carry a path, a request id or worse, so it is named by its type alone.
    """
    name = str((error or {}).get("Error") or "an unknown error")
    if name == "States.Timeout":
        return "An agent step ran past its time limit and was stopped."
    if name in _FUNCTION_DIED:
        return (
            "An agent step stopped abruptly (the step function ran out of time or memory) and "
            "stopped again when retried."
        )
    if name == "States.DataLimitExceeded":
        return "The run's state grew past what the orchestrator can pass between steps."
    if name == "States.Runtime":
        return "The run's orchestration met an internal error; the operators' logs have the details."
    if name == "LaunchError":
        return (
            "The browser could not be started: Chromium failed to launch, or the run's "
            "browser_address did not answer."
        )
    if name in _INFRASTRUCTURE:
        return f"The run could not be executed: the compute service kept failing ({name})."
    if name == "TransientStepError":
        message = _cause_message(error)
        return (
            f"The run stopped after repeated interruptions: {message}"
            if message
            else ("The run stopped after repeated interruptions of its browser or storage.")
        )
    return f"The run stopped because of an internal error ({name}); the operators' logs have the details."


def _cause_message(error: Any) -> str:
    try:
        cause = json.loads((error or {}).get("Cause") or "{}")
    except ValueError:
        return ""
    return str(cause.get("errorMessage") or "") if isinstance(cause, dict) else ""
