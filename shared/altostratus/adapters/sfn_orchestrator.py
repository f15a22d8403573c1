"""The AWS orchestrator: one Step Functions execution per run, named by the run id."""

from __future__ import annotations

import json
from typing import Any

from botocore.exceptions import BotoCoreError, ClientError

from altostratus.ports.errors import StoreUnavailableError


class StepFunctionsOrchestrator:
    def __init__(self, client: Any, *, state_machine_arn: str) -> None:
        self._sfn = client
        self._arn = state_machine_arn

    def start(self, run_id: str) -> None:
        try:
            self._sfn.start_execution(
                stateMachineArn=self._arn, name=run_id, input=json.dumps({"run_id": run_id})
            )
        except ClientError as exc:
            # The execution name is the run id: a second start of the same run is harmless.
            if exc.response.get("Error", {}).get("Code") == "ExecutionAlreadyExists":
                return
            raise StoreUnavailableError(f"could not start the run's execution: {type(exc).__name__}") from exc
        except BotoCoreError as exc:
            raise StoreUnavailableError(f"could not start the run's execution: {type(exc).__name__}") from exc

    def stop(self, run_id: str) -> None:
        """Nothing to stop: the cancel is in the run's log, and the running slice records the
        end between two actions, so the execution finishes on its own with the run canceled."""

    def execution_arn(self, run_id: str) -> str:
        prefix, _, machine = self._arn.rpartition(":stateMachine:")
        return f"{prefix}:execution:{machine}:{run_id}"

    def state(self, run_id: str) -> str | None:
        """The status of the run's execution, or None when it has none."""
        try:
            described = self._sfn.describe_execution(executionArn=self.execution_arn(run_id))
        except ClientError as exc:
            if exc.response.get("Error", {}).get("Code") == "ExecutionDoesNotExist":
                return None
            raise StoreUnavailableError(
                f"could not describe the run's execution: {type(exc).__name__}"
            ) from exc
        except BotoCoreError as exc:
            raise StoreUnavailableError(
                f"could not describe the run's execution: {type(exc).__name__}"
            ) from exc
        return str(described["status"])
