"""Webhook delivery on the embedded runtime, to a real receiver on 127.0.0.1 (allowed explicitly)."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

from altostratus.domain import events as ev
from altostratus.domain.enums import WebhookStatus
from altostratus.domain.webhook_payload import compact_json
from altostratus.runtimes.local import build_local
from altostratus.runtimes.settings import Settings
from tests.support.api_client import ApiClient
from tests.support.clock import FakeClock
from tests.support.webhook_receiver import WebhookReceiver, running, statuses
from tests.webhooks.conftest import FAST, Embedded, eventually, start_embedded


def test_a_run_ending_reaches_its_webhook_signed_with_both_header_sets(embedded: Embedded) -> None:
    with running(WebhookReceiver()) as receiver:
        # GIVEN a run with a webhook_url
        run_id = embedded.submit(webhook_url=receiver.url)
        # WHEN it completes
        embedded.finish(run_id)
        got = receiver.wait_for(lambda r: len(r) >= 1)[0]

    # THEN the receiver verifies both signatures with the key that created the run
    assert got.skyvern_signature_ok(embedded.key)
    assert got.standard_signature_ok(embedded.key)
    assert got.headers["content-type"] == "application/json"
    assert got.headers["webhook-id"] == f"msg_{run_id}"
    assert got.headers["x-skyvern-timestamp"] == got.headers["webhook-timestamp"]
    # and the body is the run response over the legacy keys, as compact JSON
    body = got.json()
    assert body["run_id"] == body["task_id"] == run_id
    assert body["status"] == "completed"
    assert body["output"] == body["extracted_information"] == {"price": 10, "currency": "€"}
    assert "run_request" not in body
    assert got.body == compact_json(body).encode()
    assert "€".encode() in got.body  # non-ASCII kept
    view = embedded.webhook_settled(run_id)
    assert view.webhook is not None and view.webhook.status is WebhookStatus.DELIVERED


def test_a_receiver_failing_twice_gets_the_delivery_on_the_third_attempt(embedded: Embedded) -> None:
    with running(WebhookReceiver(script=statuses(500, 500, 200))) as receiver:
        run_id = embedded.submit(webhook_url=receiver.url)
        embedded.finish(run_id, ev.RunFailed(reason="The page would not load"))
        view = embedded.webhook_settled(run_id)
        requests = list(receiver.received)

    assert [r.status for r in requests] == [500, 500, 200]
    # one webhook-id for the whole delivery, so a deduplicating receiver processes it once
    assert {r.webhook_id for r in requests} == {f"msg_{run_id}"}
    assert all(r.skyvern_signature_ok(embedded.key) for r in requests)
    attempts = embedded.attempts(run_id)
    assert [(a.attempt, a.status_code) for a in attempts] == [(1, 500), (2, 500), (3, 200)]
    assert view.webhook is not None
    assert view.webhook.status is WebhookStatus.DELIVERED and view.webhook.attempts == 3
    reply = embedded.client.get(f"/v1/runs/{run_id}").json()
    assert reply["webhook_status"] == "delivered" and reply["webhook_failure_reason"] is None


def test_a_receiver_that_is_down_exhausts_the_attempts_and_the_run_shows_why(
    embedded: Embedded, tmp_path: Path
) -> None:
    with running(WebhookReceiver()) as receiver:
        closed_url = receiver.url  # nothing listens there once the receiver is gone
    run_id = embedded.submit(webhook_url=closed_url)
    embedded.finish(run_id, ev.RunCanceled(reason="Canceled by the user"))

    view = embedded.webhook_settled(run_id)
    assert view.webhook is not None and view.webhook.status is WebhookStatus.FAILED
    assert [a.attempt for a in embedded.attempts(run_id)] == [1, 2, 3]
    reason = embedded.client.get(f"/v1/runs/{run_id}").json()["webhook_failure_reason"]
    assert reason.startswith("gave up after 3 attempts") and "could not connect" in reason
    assert embedded.key not in reason


def test_a_client_error_is_not_retried(embedded: Embedded) -> None:
    with running(WebhookReceiver(script=statuses(404))) as receiver:
        run_id = embedded.submit(webhook_url=receiver.url)
        embedded.finish(run_id)
        view = embedded.webhook_settled(run_id)
        assert len(receiver.received) == 1
    assert view.webhook is not None and view.webhook.status is WebhookStatus.FAILED
    assert view.webhook.failure_reason == "attempt 1 was not retried: the receiver answered 404"


def test_a_redirect_is_not_followed(embedded: Embedded) -> None:
    with running(WebhookReceiver()) as elsewhere, running(WebhookReceiver(script=statuses(307))) as receiver:
        receiver.extra_headers = {"location": elsewhere.url}
        run_id = embedded.submit(webhook_url=receiver.url)
        embedded.finish(run_id)
        view = embedded.webhook_settled(run_id)
        assert elsewhere.received == []
    assert view.webhook is not None and view.webhook.failure_reason is not None
    assert "redirects are not followed" in view.webhook.failure_reason


def test_a_run_whose_key_was_deleted_records_why_its_webhook_failed(embedded: Embedded) -> None:
    with running(WebhookReceiver()) as receiver:
        run_id = embedded.submit(webhook_url=receiver.url)
        view = embedded.view(run_id)
        assert view.api_key_id is not None
        # No command deletes keys yet; this is what a deletion would leave in the store.
        with embedded.runtime.db.write() as conn:
            conn.execute("DELETE FROM api_keys WHERE key_id = ?", (view.api_key_id,))
        embedded.finish(run_id)
        settled = embedded.webhook_settled(run_id)
        assert receiver.received == []
    assert settled.webhook is not None and settled.webhook.status is WebhookStatus.FAILED
    assert "API key that created run" in (settled.webhook.failure_reason or "")


def test_runs_without_a_webhook_url_send_nothing(embedded: Embedded) -> None:
    with running(WebhookReceiver()) as receiver:
        quiet = embedded.submit()
        embedded.finish(quiet)
        loud = embedded.submit(webhook_url=receiver.url)
        embedded.finish(loud)
        receiver.wait_for(lambda r: len(r) >= 1)
        embedded.webhook_settled(loud)
        assert [r.json()["run_id"] for r in receiver.received] == [loud]
    assert embedded.view(quiet).webhook is None


def test_pending_retries_and_unpublished_events_survive_a_restart(tmp_path: Path) -> None:
    data_dir = tmp_path / "data"
    with running(WebhookReceiver(script=statuses(503, 200))) as receiver:
        # GIVEN a server whose next retry is a minute away when it stops
        first = start_embedded(data_dir, webhook_backoff_base_s=60.0, webhook_backoff_max_s=60.0)
        run_id = first.submit(webhook_url=receiver.url)
        first.finish(run_id)
        eventually(lambda: first.attempts(run_id), what="the first attempt")
        first.runtime.close()
        # and a run that ends while no server runs (its terminal event not yet published)
        offline = build_local(Settings(data_dir=data_dir, **FAST))
        later_id = (
            ApiClient(offline.api(), first.key)
            .post("/v1/run/tasks", json_body={"prompt": "Later", "webhook_url": receiver.url})
            .json()["run_id"]
        )
        offline.event_log.append(later_id, [ev.Draft(data=ev.RunStarted()), ev.Draft(data=ev.RunCompleted())])
        offline.close()

        # WHEN the server starts again (its clock past the retry's due time)
        clock = FakeClock(start=first.runtime.clock.now() + timedelta(minutes=5))
        second = build_local(Settings(data_dir=data_dir, **FAST), clock=clock)
        second.start_integrations()
        try:
            for rid in (run_id, later_id):
                eventually(
                    lambda rid=rid: (
                        (v := second.event_log.get_view(rid)) is not None
                        and v.webhook is not None
                        and v.webhook.status is WebhookStatus.DELIVERED
                    ),
                    what=f"{rid} delivered after the restart",
                )
        finally:
            second.close()
        delivered = [r for r in receiver.received if r.status == 200]

    # THEN the pending retry continued as attempt 2 with the same webhook-id, the unpublished
    # run was published and delivered, and nothing was delivered twice
    assert [(r.status, r.webhook_id) for r in receiver.received if r.json()["run_id"] == run_id] == [
        (503, f"msg_{run_id}"),
        (200, f"msg_{run_id}"),
    ]
    assert sorted(r.json()["run_id"] for r in delivered) == sorted([run_id, later_id])
