"""template.yaml holds up in production (offline checks of what cfn-lint cannot know): alarms
that reach someone, no run without an end, data kept and expired together, logs kept for a
bounded time, and the agent's rights narrowed."""

from __future__ import annotations

import re
import tomllib
from typing import Any

import pytest

from altostratus.adapters.dynamodb_event_log import UNSTARTED_INDEX
from altostratus.orchestration.execution_ends import ENDED_BADLY, STATUS_CHANGE
from altostratus.runtimes.settings import Settings
from tests.support.template import ROOT, load_template, resource


@pytest.fixture(scope="module")
def template() -> dict[str, Any]:
    return load_template()


def _of_type(template: dict[str, Any], kind: str) -> dict[str, dict[str, Any]]:
    return {name: r for name, r in template["Resources"].items() if r["Type"] == kind}


def _functions(template: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return _of_type(template, "AWS::Serverless::Function")


def _alarms(template: dict[str, Any]) -> list[dict[str, Any]]:
    return [r["Properties"] for r in _of_type(template, "AWS::CloudWatch::Alarm").values()]


def _alarmed(template: dict[str, Any], metric: str, dimension_value: Any) -> bool:
    return any(
        a["MetricName"] == metric and any(d["Value"] == dimension_value for d in a["Dimensions"])
        for a in _alarms(template)
    )


# -- alarms --------------------------------------------------------------------------------


def test_the_alarm_topic_is_sealed_with_a_key_cloudwatch_may_use(template: dict[str, Any]) -> None:
    topic = resource(template, "AlarmTopic")
    assert topic["KmsMasterKeyId"] != "alias/aws/sns"  # CloudWatch cannot use the AWS-managed key
    key_name = topic["KmsMasterKeyId"]["Ref"]
    key = resource(template, key_name)
    assert template["Resources"][key_name]["Type"] == "AWS::KMS::Key"
    granted = [
        s
        for s in key["KeyPolicy"]["Statement"]
        if s["Effect"] == "Allow" and s["Principal"] == {"Service": "cloudwatch.amazonaws.com"}
    ]
    assert granted and {"kms:Decrypt", "kms:GenerateDataKey*"} <= set(granted[0]["Action"])
    (policy,) = (
        r["Properties"]
        for r in _of_type(template, "AWS::SNS::TopicPolicy").values()
        if {"Ref": "AlarmTopic"} in r["Properties"]["Topics"]
    )
    (statement,) = policy["PolicyDocument"]["Statement"]
    assert statement["Principal"] == {"Service": "cloudwatch.amazonaws.com"}
    assert statement["Action"] == "sns:Publish"


def test_every_alarm_notifies_the_topic(template: dict[str, Any]) -> None:
    for alarm in _alarms(template):
        assert alarm["AlarmActions"] == [{"Ref": "AlarmTopic"}], alarm["AlarmDescription"]
        assert alarm["TreatMissingData"] == "notBreaching"


def test_every_function_alarms_on_errors_and_throttles(template: dict[str, Any]) -> None:
    for name in _functions(template):
        for metric in ("Errors", "Throttles"):
            assert _alarmed(template, metric, {"Ref": name}), f"no {metric} alarm on {name}"


def test_stream_age_api_5xx_executions_and_every_dead_letter_queue_alarm(template: dict[str, Any]) -> None:
    assert _alarmed(template, "IteratorAge", {"Ref": "PublisherFunction"})
    assert _alarmed(template, "5xx", {"Ref": "HttpApi"})
    for metric in ("ExecutionsFailed", "ExecutionsTimedOut"):
        assert _alarmed(template, metric, {"Ref": "RunStateMachine"}), metric
    queues = _of_type(template, "AWS::SQS::Queue")
    dead_letter = {
        q["Properties"]["RedrivePolicy"]["deadLetterTargetArn"]["Fn::GetAtt"][0]
        for q in queues.values()
        if "RedrivePolicy" in q["Properties"]
    } | {"PublisherDeadLetterQueue"}
    assert len(dead_letter) >= 3
    for queue in dead_letter:
        assert _alarmed(template, "ApproximateNumberOfMessagesVisible", {"Fn::GetAtt": [queue, "QueueName"]})


# -- runs that never end --------------------------------------------------------------------


def test_executions_that_end_badly_reach_run_failed(template: dict[str, Any]) -> None:
    rule = resource(template, "ExecutionStatusRule")
    assert "EventBusName" not in rule  # Step Functions' events arrive on the default bus
    pattern = rule["EventPattern"]
    assert pattern["source"] == ["aws.states"] and pattern["detail-type"] == [STATUS_CHANGE]
    assert sorted(pattern["detail"]["status"]) == sorted(ENDED_BADLY)
    (target,) = rule["Targets"]
    queue = target["Arn"]["Fn::GetAtt"][0]
    assert target["DeadLetterConfig"]["Arn"] == {"Fn::GetAtt": ["ExecutionEndsDeadLetterQueue", "Arn"]}
    source = resource(template, "RunFailedFunction")["Events"]["ExecutionEnds"]
    assert source["Type"] == "SQS" and source["Properties"]["Queue"] == {"Fn::GetAtt": [queue, "Arn"]}
    assert source["Properties"]["FunctionResponseTypes"] == ["ReportBatchItemFailures"]
    assert resource(template, queue)["VisibilityTimeout"] >= 6 * template["Globals"]["Function"]["Timeout"]


def test_the_sweeper_runs_on_a_schedule_with_what_it_needs(template: dict[str, Any]) -> None:
    sweeper = resource(template, "RunSweeperFunction")
    (event,) = sweeper["Events"].values()
    assert event["Type"] == "Schedule" and event["Properties"]["Schedule"].startswith("rate(")
    assert sweeper["Environment"]["Variables"]["ALTO_STATE_MACHINE_ARN"] == {"Ref": "RunStateMachine"}
    actions = {
        a
        for s in sweeper["Policies"][0]["Statement"]
        for a in ([s["Action"]] if isinstance(s["Action"], str) else s["Action"])
    }
    assert {"states:StartExecution", "states:DescribeExecution", "dynamodb:Query"} <= actions
    index = next(
        s["Resource"] for s in sweeper["Policies"][0]["Statement"] if s["Action"] == "dynamodb:Query"
    )
    assert index == {"Fn::Sub": f"${{StateTable.Arn}}/index/{UNSTARTED_INDEX}"}


# -- data lifecycle -------------------------------------------------------------------------


def test_whatever_outlives_the_stack_has_no_fixed_name(template: dict[str, Any]) -> None:
    retained = {n: r for n, r in template["Resources"].items() if r.get("DeletionPolicy") == "Retain"}
    assert {"EventsTable", "StateTable", "ArtifactsBucket", "MasterKeySecret"} <= set(retained)
    for name, res in retained.items():
        assert res.get("UpdateReplacePolicy") == "Retain", name
        for field in ("TableName", "BucketName", "Name"):
            assert field not in res["Properties"], f"{name} has a fixed {field}: a redeploy collides with it"
    output = template["Outputs"]["MasterKeySecretArn"]["Value"]
    assert output == {
        "Fn::If": ["CreateMasterKey", {"Ref": "MasterKeySecret"}, {"Ref": "MasterKeySecretArn"}]
    }


def test_runs_and_their_artifacts_expire_after_the_same_retention(template: dict[str, Any]) -> None:
    for table in ("EventsTable", "StateTable"):
        ttl = resource(template, table)["TimeToLiveSpecification"]
        assert ttl == {"AttributeName": "expiration", "Enabled": True}, table
    (rule,) = resource(template, "ArtifactsBucket")["LifecycleConfiguration"]["Rules"]
    assert rule["ExpirationInDays"] == {"Ref": "RetentionDays"}
    assert rule["Prefix"] == Settings().artifacts_prefix  # where every artifact is stored
    variables = template["Globals"]["Function"]["Environment"]["Variables"]
    assert variables["ALTO_RETENTION_DAYS"] == {"Ref": "RetentionDays"}


# -- hygiene --------------------------------------------------------------------------------


def test_every_log_group_has_a_retention(template: dict[str, Any]) -> None:
    groups = _of_type(template, "AWS::Logs::LogGroup")
    for name, group in groups.items():
        assert group["Properties"]["RetentionInDays"] == {"Ref": "LogRetentionDays"}, name
    for name, function in _functions(template).items():
        group = function["Properties"]["LoggingConfig"]["LogGroup"]["Ref"]
        assert group in groups, f"{name} logs to a group the stack does not declare"
    access = resource(template, "HttpApi")["AccessLogSettings"]
    assert access["DestinationArn"]["Fn::GetAtt"][0] in groups
    assert "$context.status" in access["Format"] and "$context.requestId" in access["Format"]


def test_the_agent_reads_and_writes_only_the_runs_prefix(template: dict[str, Any]) -> None:
    statements = [
        s for p in resource(template, "AgentStepFunction")["Policies"] for s in p.get("Statement", [])
    ]
    s3 = [s for s in statements if any(a.startswith("s3:") for a in s["Action"])]
    assert s3 == [
        {
            "Effect": "Allow",
            "Action": ["s3:GetObject", "s3:PutObject"],
            "Resource": {"Fn::Sub": f"${{ArtifactsBucket.Arn}}/{Settings().artifacts_prefix}*"},
        }
    ]
    assert not any(
        isinstance(p, dict) and "S3CrudPolicy" in p
        for p in resource(template, "AgentStepFunction")["Policies"]
    )


def test_tracing_is_sampled_and_can_be_turned_down(template: dict[str, Any]) -> None:
    assert template["Globals"]["Function"]["Tracing"] == {"Ref": "Tracing"}
    assert template["Parameters"]["Tracing"]["AllowedValues"] == ["Active", "PassThrough"]
    (rule,) = _of_type(template, "AWS::XRay::SamplingRule").values()
    assert 0 < rule["Properties"]["SamplingRule"]["FixedRate"] <= 0.1


def test_the_image_build_context_leaves_out_venvs_git_and_tests() -> None:
    lines = [
        line.strip()
        for line in (ROOT / ".dockerignore").read_text().splitlines()
        if line.strip() and not line.startswith("#")
    ]
    assert lines[0] == "*"  # everything is left out, then what the Dockerfile copies is let in
    allowed = {line[1:].rstrip("/") for line in lines if line.startswith("!")}
    dockerfile = (ROOT / "functions" / "agent_step" / "Dockerfile").read_text()
    copied = {src for line in re.findall(r"^COPY (.+) \S+$", dockerfile, re.M) for src in line.split()}
    assert copied == allowed
    assert not {".venv", ".venv-sam", ".git", "tests"} & allowed


def test_a_samconfig_deploys_the_stack_with_its_capabilities() -> None:
    config = tomllib.loads((ROOT / "samconfig.toml").read_text())
    deploy = config["default"]["deploy"]["parameters"]
    assert "CAPABILITY_IAM" in deploy["capabilities"]
    assert deploy["resolve_s3"] and deploy["resolve_image_repos"]
    assert config["default"]["global"]["parameters"]["stack_name"]


# -- concurrency ----------------------------------------------------------------------------


def test_agent_step_concurrency_can_be_reserved_and_is_not_by_default(template: dict[str, Any]) -> None:
    parameter = template["Parameters"]["AgentStepReservedConcurrency"]
    assert parameter["Default"] == 0
    assert "10 concurrent" in parameter["Description"]  # the new-account quota, documented
    reserved = resource(template, "AgentStepFunction")["ReservedConcurrentExecutions"]
    assert reserved == {
        "Fn::If": ["ReservesAgentStep", {"Ref": "AgentStepReservedConcurrency"}, {"Ref": "AWS::NoValue"}]
    }
