"""template.yaml wires publishing and webhooks the way the code expects (offline checks)."""

from __future__ import annotations

from typing import Any

import pytest

from altostratus.publishing import TERMINAL_WITH_WEBHOOK
from tests.support.template import ROOT, load_template, resource


@pytest.fixture(scope="module")
def template() -> dict[str, Any]:
    return load_template()


def test_the_webhook_rule_selects_what_the_embedded_worker_selects(template: dict[str, Any]) -> None:
    rule = resource(template, "WebhookRule")
    assert rule["EventBusName"] == {"Ref": "EventBus"}
    pattern = rule["EventPattern"]
    assert {**pattern, "detail-type": sorted(pattern["detail-type"])} == {
        **TERMINAL_WITH_WEBHOOK,
        "detail-type": sorted(TERMINAL_WITH_WEBHOOK["detail-type"]),
    }
    assert rule["Targets"][0]["Arn"] == {"Fn::GetAtt": ["WebhookQueue", "Arn"]}


def test_the_queue_dead_letters_after_exactly_the_attempts_the_function_makes(
    template: dict[str, Any],
) -> None:
    queue = resource(template, "WebhookQueue")
    function = resource(template, "WebhookFunction")
    assert queue["RedrivePolicy"]["maxReceiveCount"] == {"Ref": "WebhookMaxAttempts"}
    assert queue["RedrivePolicy"]["deadLetterTargetArn"] == {"Fn::GetAtt": ["WebhookDeadLetterQueue", "Arn"]}
    variables = function["Environment"]["Variables"]
    assert variables["ALTO_WEBHOOK_MAX_ATTEMPTS"] == {"Ref": "WebhookMaxAttempts"}
    assert variables["ALTO_WEBHOOK_QUEUE_URL"] == {"Ref": "WebhookQueue"}
    # a message must not reappear while its batch is still being delivered
    assert queue["VisibilityTimeout"] >= 6 * function["Timeout"]


def test_both_functions_report_batch_item_failures_from_their_sources(template: dict[str, Any]) -> None:
    stream = resource(template, "PublisherFunction")["Events"]["EventsStream"]
    assert stream["Type"] == "DynamoDB"
    assert stream["Properties"]["Stream"] == {"Fn::GetAtt": ["EventsTable", "StreamArn"]}
    assert stream["Properties"]["FunctionResponseTypes"] == ["ReportBatchItemFailures"]
    deliveries = resource(template, "WebhookFunction")["Events"]["Deliveries"]
    assert deliveries["Type"] == "SQS"
    assert deliveries["Properties"]["Queue"] == {"Fn::GetAtt": ["WebhookQueue", "Arn"]}
    assert deliveries["Properties"]["FunctionResponseTypes"] == ["ReportBatchItemFailures"]
    for name in ("PublisherFunction", "WebhookFunction"):
        code = ROOT / resource(template, name)["CodeUri"] / "app.py"
        assert "def handler(" in code.read_text()


def test_only_the_rule_may_send_to_the_webhook_queues(template: dict[str, Any]) -> None:
    (statement,) = resource(template, "WebhookQueuePolicy")["PolicyDocument"]["Statement"]
    assert statement["Principal"] == {"Service": "events.amazonaws.com"}
    assert statement["Action"] == "sqs:SendMessage"
    assert statement["Condition"] == {"ArnEquals": {"aws:SourceArn": {"Fn::GetAtt": ["WebhookRule", "Arn"]}}}
