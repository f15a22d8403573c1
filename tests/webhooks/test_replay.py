"""retry_run_webhook on the embedded runtime: rebuild, sign, POST once, report."""

from __future__ import annotations

import hashlib
import hmac

from altostratus.domain import events as ev
from altostratus.domain.enums import WebhookStatus
from tests.support.webhook_receiver import WebhookReceiver, running
from tests.webhooks.conftest import Embedded

REPORT_KEYS = {
    "run_id",
    "run_type",
    "default_webhook_url",
    "target_webhook_url",
    "payload",
    "headers",
    "status_code",
    "latency_ms",
    "response_body",
    "error",
}


def test_a_replay_after_a_failed_delivery_delivers_and_reports(embedded: Embedded) -> None:
    with running(WebhookReceiver()) as gone:
        url = gone.url
    run_id = embedded.submit(webhook_url=url)
    embedded.finish(run_id)
    assert embedded.webhook_settled(run_id).webhook.status is WebhookStatus.FAILED  # type: ignore[union-attr]

    with running(WebhookReceiver(response_body=b"thanks"), port=int(url.split(":")[2].split("/")[0])) as back:
        reply = embedded.client.post(f"/v1/runs/{run_id}/retry_webhook")
        got = back.received

    assert reply.status == 200
    report = reply.json()
    assert set(report) == REPORT_KEYS
    assert report["status_code"] == 200 and report["error"] is None and report["response_body"] == "thanks"
    assert report["default_webhook_url"] == report["target_webhook_url"] == url
    # the report's payload is exactly what was signed and sent
    assert got[0].body == report["payload"].encode()
    expected = hmac.new(embedded.key.encode(), got[0].body, hashlib.sha256).hexdigest()
    assert report["headers"]["x-skyvern-signature"] == expected == got[0].headers["x-skyvern-signature"]
    assert got[0].standard_signature_ok(embedded.key)
    # a replay is a delivery of its own, recorded in the log; the run now shows it delivered
    assert report["headers"]["webhook-id"].startswith(f"msg_{run_id}_replay_")
    view = embedded.view(run_id)
    assert view.webhook is not None and view.webhook.status is WebhookStatus.DELIVERED
    assert embedded.attempts(run_id)[-1].delivery_id == report["headers"]["webhook-id"]


def test_a_replay_can_target_another_url(embedded: Embedded) -> None:
    with running(WebhookReceiver()) as usual, running(WebhookReceiver()) as other:
        run_id = embedded.submit(webhook_url=usual.url)
        embedded.finish(run_id)
        usual.wait_for(lambda r: len(r) == 1)
        reply = embedded.client.post(f"/v1/runs/{run_id}/retry_webhook", json_body={"webhook_url": other.url})
        assert len(other.received) == 1 and len(usual.received) == 1
    report = reply.json()
    assert report["default_webhook_url"] == usual.url and report["target_webhook_url"] == other.url


def test_an_unreachable_target_is_reported_in_the_error_not_as_an_http_error(embedded: Embedded) -> None:
    with running(WebhookReceiver()) as gone:
        url = gone.url
    run_id = embedded.submit()
    embedded.finish(run_id, ev.RunTerminated(reason="stopped"))
    reply = embedded.client.post(f"/v1/runs/{run_id}/retry_webhook", json_body={"webhook_url": url})
    assert reply.status == 200
    report = reply.json()
    assert report["status_code"] is None and "could not connect" in report["error"]
    assert report["payload"].startswith('{"task_id":"')


def test_a_replay_to_a_refused_address_is_a_400(embedded: Embedded) -> None:
    run_id = embedded.submit()
    embedded.finish(run_id)
    reply = embedded.client.post(
        f"/v1/runs/{run_id}/retry_webhook", json_body={"webhook_url": "http://169.254.169.254/latest/"}
    )
    assert reply.status == 400
    assert "169.254.169.254 is a link-local address" in reply.json()["detail"]


def test_a_replay_of_a_run_whose_key_is_gone_is_a_400_that_says_why(embedded: Embedded) -> None:
    run_id = embedded.submit()
    embedded.finish(run_id)
    key_id = embedded.view(run_id).api_key_id
    other_key = embedded.runtime.keys.create_key(embedded.view(run_id).org_id)[1]
    # No command deletes keys yet; this is what a deletion would leave in the store.
    with embedded.runtime.db.write() as conn:
        conn.execute("DELETE FROM api_keys WHERE key_id = ?", (key_id,))
    with running(WebhookReceiver()) as receiver:
        reply = embedded.client.post(
            f"/v1/runs/{run_id}/retry_webhook", json_body={"webhook_url": receiver.url}, key=other_key
        )
        assert receiver.received == []
    assert reply.status == 400
    assert (
        reply.json()["detail"]
        == f"Run {run_id} cannot be signed: the API key that created it no longer exists."
    )
