"""publish_workflow → run_workflow(run_with="code") on the AWS runtime under moto: the run_finish
function publishes the workflow (DynamoDB, S3), the agent_step function replays its plan with
no model call, through the same state machine."""

from __future__ import annotations

import json
import time
from typing import Any

import boto3
import pytest

from altostratus.domain.view import fold
from altostratus.runtimes import aws as aws_runtime
from tests.fakes.anthropic_server import FakeAnthropicServer
from tests.flow.drivers import AwsStack, aws_stack
from tests.replay.scenario import ORDER_SCHEMA, PAGES, POLICY, PROMPT, expected_output
from tests.support.fixture_site import FixtureSite
from tests.support.functions import load_function

pytestmark = pytest.mark.browser


def _body(reply: dict[str, Any]) -> Any:
    assert reply["statusCode"] == 200, reply["body"]
    return json.loads(reply["body"])


def _ended(stack: AwsStack, run_id: str, timeout_s: float = 120) -> dict[str, Any]:
    """The run once its execution has ended (the execution records the run's end last)."""
    sfn = boto3.client("stepfunctions", region_name="us-east-1")
    deadline = time.monotonic() + timeout_s
    while True:
        executions = {e["name"]: e for e in sfn.list_executions(stateMachineArn=_machine())["executions"]}
        if run_id in executions and executions[run_id]["status"] != "RUNNING":
            break
        if time.monotonic() > deadline:
            raise AssertionError(f"the execution of {run_id} did not end")
        time.sleep(0.2)
    stack.lambdas.drain()
    run: dict[str, Any] = _body(stack.call_api("GET", f"/v1/runs/{run_id}"))
    return run


def _machine() -> str:
    import os

    return os.environ["ALTO_STATE_MACHINE_ARN"]


def test_publish_then_code_replay_on_the_aws_runtime(
    monkeypatch: pytest.MonkeyPatch, site: FixtureSite
) -> None:
    with FakeAnthropicServer(POLICY) as model, aws_stack(monkeypatch, model) as stack:
        stack.lambdas.register("agent_step", load_function("agent_step").handler)
        # GIVEN a published skyvern-2.0 run, finished by the run_finish function
        submitted = _body(
            stack.call_api(
                "POST",
                "/v1/run/tasks",
                {
                    "prompt": PROMPT,
                    "url": site.url(f"/{PAGES}/order-1.html"),
                    "data_extraction_schema": ORDER_SCHEMA,
                    "publish_workflow": True,
                },
            )
        )
        run = _ended(stack, submitted["run_id"])
        assert run["status"] == "completed", run["failure_reason"]
        wpid = run["workflow_permanent_id"]
        assert wpid.startswith("wpid_")
        # THEN the workflow is listed from DynamoDB and its plan is in the bucket
        assert [w["workflow_permanent_id"] for w in _body(stack.call_api("GET", "/v1/agents"))] == [wpid]
        everything = _body(stack.call_api("GET", f"/v1/runs/{run['run_id']}/artifacts"))
        artifacts = [a for a in everything if a["artifact_type"] == "script_file"]
        assert sorted(a["filename"] for a in artifacts) == ["main.py", "plan.json"]
        assert all(a["uri"].startswith("s3://") for a in artifacts)
        # WHEN it runs as code with other values
        calls = len(model.exchanges)
        started = _body(
            stack.call_api(
                "POST",
                "/v1/run/agents",
                {
                    "agent_id": wpid,
                    "run_with": "code",
                    "parameters": {
                        "full_name": "Grace Hopper",
                        "email": "grace@example.com",
                        "plan": "Basic",
                    },
                },
            )
        )
        replayed = _ended(stack, started["run_id"])
        # THEN it completes through the same state machine with no model request
        assert replayed["status"] == "completed", replayed["failure_reason"]
        assert replayed["output"] == expected_output("Grace Hopper", "grace@example.com", "Basic")
        assert replayed["script_run"]["ai_fallback_triggered"] is False
        assert len(model.exchanges) == calls
        log = aws_runtime.runtime().event_log
        view = log.get_view(started["run_id"])
        assert view is not None and view == fold(log.read(started["run_id"]))
