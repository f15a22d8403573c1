"""publish_workflow → run_workflow(run_with="code") on the AWS runtime under moto: the run_finish
function publishes the workflow (DynamoDB, S3), the agent_step function replays its plan with
no model call, through the same state machine."""

from __future__ import annotations

import json
import time
from typing import Any

import boto3
import pyotp
import pytest
from skyvern.client import NonEmptyPasswordCredential

from altostratus.domain.credentials import login_goal
from altostratus.domain.view import fold
from altostratus.runtimes import aws as aws_runtime
from tests.compat.test_totp_run import agent as login_agent
from tests.fakes.anthropic_server import FakeAnthropicServer
from tests.fakes.policies import agent_policy
from tests.flow.drivers import AwsStack, aws_stack
from tests.replay.scenario import ORDER_SCHEMA, PAGES, POLICY, PROMPT, expected_output
from tests.support.fixture_site import FixtureSite
from tests.support.functions import load_function
from tests.support.two_factor_site import two_factor_site

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
    # Every link the run's answers hand out answers the bucket's bytes (a replay without a
    # recording may have none).
    stack.assert_links_answer_stored_bytes(run_id)
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
        # AND their links answer the files' bytes, as the bucket holds them
        fetched = stack.assert_links_answer_stored_bytes(run["run_id"])
        assert {a["artifact_id"] for a in artifacts} <= {f.artifact_id for f in fetched}
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


def test_a_published_login_replays_as_code_with_its_secrets_on_the_aws_runtime(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    username, password, secret = "ada.aws", "Aws-Replay-Password-9", pyotp.random_base32()
    accept = pyotp.TOTP(secret).verify
    monkeypatch.setenv("ALTO_RECORDING", "false")
    with (
        FakeAnthropicServer(agent_policy(login_agent)) as model,
        aws_stack(monkeypatch, model) as stack,
        two_factor_site(username=username, password=password) as site,
    ):
        site.accept = lambda code: accept(code, valid_window=1)
        stack.lambdas.register("agent_step", load_function("agent_step").handler)
        # GIVEN a saved password with an authenticator secret, and a login with it published
        sdk = stack.sdk()
        cred_id = sdk.create_credential(
            name="AWS login",
            credential_type="password",
            credential=NonEmptyPasswordCredential(
                username=username, password=password, totp=secret, totp_type="authenticator"
            ),
        ).credential_id
        submitted = sdk.run_task(prompt=login_goal(cred_id), url=site.url("/login"), publish_workflow=True)
        run = _ended(stack, submitted.run_id)
        assert run["status"] == "completed", run["failure_reason"]
        # WHEN its workflow runs as code, without the agent to fall back on
        calls = len(model.exchanges)
        started = sdk.run_workflow(agent_id=run["workflow_permanent_id"], run_with="code", ai_fallback=False)
        replayed = _ended(stack, started.run_id)
        # THEN the agent_step function typed the password and a code made at replay time, with
        # no model request
        assert replayed["status"] == "completed", replayed["failure_reason"]
        assert len(model.exchanges) == calls
        assert site.logins == [(username, password)] * 2
        assert len(site.attempts) == 2 and accept(site.attempts[1], valid_window=1)
        # AND no secret is in its events, its artifacts, the bucket or the API's answers
        runtime = aws_runtime.runtime()
        events = runtime.event_log.read(started.run_id)
        shown = [
            json.dumps([e.model_dump(mode="json") for e in events]),
            *(
                runtime.artifacts.get(a.uri).decode("latin-1")
                for a in runtime.event_log.list_artifacts(started.run_id)
            ),
            json.dumps(replayed),
            json.dumps([e.dict() for e in sdk.get_run_timeline(started.run_id)], default=str),
            json.dumps([a.dict() for a in sdk.get_run_artifacts(started.run_id)], default=str),
        ]
        s3 = boto3.client("s3", region_name="us-east-1")
        bucket = runtime.settings.artifacts_bucket
        shown += [
            s3.get_object(Bucket=bucket, Key=o["Key"])["Body"].read().decode("latin-1")
            for page in s3.get_paginator("list_objects_v2").paginate(Bucket=bucket)
            for o in page.get("Contents", [])
        ]
        text = "\n".join(shown)
        assert "{{secret:" + cred_id + ".password}}" in text
        assert [v for v in (password, secret, *site.attempts) if v in text] == []
