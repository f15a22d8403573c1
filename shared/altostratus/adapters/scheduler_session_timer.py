"""Session timeouts on AWS: one EventBridge Scheduler one-time schedule per session.

The schedule `alto-session-<pbs>` fires `at(<deadline>)` (UTC, rounded up to the second, so it
never fires before the deadline) and invokes the session-closing function with
`{"session_id": …}`; extending the session moves it, closing it deletes it, and a schedule that
has fired deletes itself. DynamoDB's TTL would be too late (it may take days), and a schedule
costs nothing while it waits.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from typing import Any

from botocore.exceptions import BotoCoreError, ClientError

from altostratus.ports.session_timer import SessionTimerError

SchedulerClient = Any  # boto3 ships no type hints

PREFIX = "alto-session-"


def schedule_name(session_id: str) -> str:
    return f"{PREFIX}{session_id}"


def at_expression(deadline: datetime) -> str:
    moment = deadline.astimezone(UTC)
    if moment.microsecond:
        moment = moment.replace(microsecond=0) + timedelta(seconds=1)
    return f"at({moment.strftime('%Y-%m-%dT%H:%M:%S')})"


class SchedulerSessionTimer:
    def __init__(
        self, client: SchedulerClient, *, target_arn: str, role_arn: str, group: str = "default"
    ) -> None:
        self._scheduler = client
        self._target = target_arn
        self._role = role_arn
        self._group = group

    def arm(self, session_id: str, deadline: datetime) -> None:
        schedule: dict[str, Any] = {
            "Name": schedule_name(session_id),
            "GroupName": self._group,
            "ScheduleExpression": at_expression(deadline),
            "ScheduleExpressionTimezone": "UTC",
            "FlexibleTimeWindow": {"Mode": "OFF"},
            "Target": {
                "Arn": self._target,
                "RoleArn": self._role,
                "Input": json.dumps({"session_id": session_id}),
                # A failed close is tried again for a while; the closer is idempotent.
                "RetryPolicy": {"MaximumEventAgeInSeconds": 3600, "MaximumRetryAttempts": 10},
            },
            "ActionAfterCompletion": "DELETE",
            "Description": f"Closes browser session {session_id} at its timeout",
        }
        try:
            try:
                self._scheduler.update_schedule(**schedule)
            except ClientError as exc:
                if _code(exc) != "ResourceNotFoundException":
                    raise
                self._scheduler.create_schedule(**schedule)
        except (ClientError, BotoCoreError) as exc:
            raise SessionTimerError(f"the session's timeout could not be set: {type(exc).__name__}") from exc

    def disarm(self, session_id: str) -> None:
        try:
            self._scheduler.delete_schedule(Name=schedule_name(session_id), GroupName=self._group)
        except ClientError as exc:
            if _code(exc) == "ResourceNotFoundException":
                return
            raise SessionTimerError(f"the session's timer was not removed: {type(exc).__name__}") from exc
        except BotoCoreError as exc:
            raise SessionTimerError(f"the session's timer was not removed: {type(exc).__name__}") from exc


def _code(exc: ClientError) -> str:
    return str(exc.response.get("Error", {}).get("Code", ""))
