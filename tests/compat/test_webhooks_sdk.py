"""Webhooks through the official SDK (skyvern==1.0.56) against a real `alto serve`: a delivery
that gives up because the receiver is down, then retry_run_webhook delivering and reporting."""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from skyvern.client import RetryRunWebhookRequest
from skyvern.client import Skyvern as SkyvernClient
from skyvern.client.core.api_error import ApiError

from altostratus.domain import events as ev
from altostratus.domain.enums import StepStatus
from altostratus.runtimes.local import LocalRuntime, build_local
from altostratus.runtimes.settings import Settings
from tests.support.server import RunningServer, alto, alto_serve
from tests.support.webhook_receiver import WebhookReceiver, running

SERVER_ENV = {
    "ALTO_ALLOWED_TARGETS": "127.0.0.1",
    "ALTO_WEBHOOK_MAX_ATTEMPTS": "2",
    "ALTO_WEBHOOK_BACKOFF_BASE_S": "0.005",
    "ALTO_OUTBOX_POLL_INTERVAL_S": "0.01",
}


@dataclass
class Served:
    server: RunningServer
    key: str
    store: LocalRuntime  # the same data directory: plays the executor by appending events

    def client(self) -> SkyvernClient:
        return SkyvernClient(base_url=self.server.base_url, api_key=self.key, timeout=30)

    def finish(self, run_id: str) -> None:
        self.store.event_log.append(
            run_id, [ev.Draft(data=ev.RunStarted()), ev.Draft(data=ev.RunCompleted(output={"ok": True}))]
        )

    def wait_for_webhook(self, client: SkyvernClient, run_id: str, status: str) -> Any:
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline:
            run = client.get_run(run_id)
            if getattr(run, "webhook_status", None) == status:
                return run
            time.sleep(0.02)
        raise AssertionError(f"the webhook of {run_id} never became {status}")


@pytest.fixture(scope="module")
def served(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Served]:
    data_dir: Path = tmp_path_factory.mktemp("alto-webhooks")
    key = alto("keys", "create", "--org", "hooks", data_dir=data_dir).strip()
    with alto_serve(data_dir, env=SERVER_ENV, api_only=True) as server:
        store = build_local(Settings(data_dir=data_dir))
        try:
            yield Served(server=server, key=key, store=store)
        finally:
            store.close()


def test_a_failed_delivery_then_retry_run_webhook_through_the_sdk(served: Served) -> None:
    with running(WebhookReceiver()) as gone:
        url = gone.url  # nothing listens here now: the receiver is down
    client = served.client()
    run = client.run_task(prompt="Tell me the price", url="https://example.com", webhook_url=url)
    served.finish(run.run_id)
    failed = served.wait_for_webhook(client, run.run_id, "failed")
    assert failed.webhook_failure_reason.startswith("gave up after 2 attempts")

    port = int(url.split(":")[2].split("/")[0])
    with running(WebhookReceiver(response_body=b'{"received":true}'), port=port) as receiver:
        report = client.retry_run_webhook(run.run_id)
        got = list(receiver.received)

    assert report.run_id == run.run_id and report.run_type == "task_v2"
    assert report.status_code == 200 and report.error is None
    assert report.response_body == '{"received":true}'
    assert report.default_webhook_url == report.target_webhook_url == url
    assert report.latency_ms is not None and report.latency_ms >= 0
    assert got[0].body == report.payload.encode()
    assert got[0].skyvern_signature_ok(served.key) and got[0].standard_signature_ok(served.key)
    assert report.headers["x-skyvern-signature"] == got[0].headers["x-skyvern-signature"]
    served.wait_for_webhook(client, run.run_id, "delivered")


def test_the_webhook_body_carries_the_runs_model_cost(served: Served) -> None:
    client = served.client()
    with running(WebhookReceiver()) as receiver:
        run = client.run_task(
            prompt="Tell me the price, at a cost", url="https://example.com", webhook_url=receiver.url
        )
        usage = ev.Usage(
            input_tokens=2500, cached_input_tokens=2000, output_tokens=75, cost_usd=0.0091, llm_calls=2
        )
        served.store.event_log.append(
            run.run_id,
            [
                ev.Draft(data=ev.RunStarted()),
                ev.Draft(data=ev.StepStarted(step_id="stp_1", order=1, url="https://example.com/")),
                ev.Draft(data=ev.StepFinished(step_id="stp_1", status=StepStatus.COMPLETED, usage=usage)),
                ev.Draft(data=ev.RunCompleted(output={"price": "3"})),
            ],
        )
        served.wait_for_webhook(client, run.run_id, "delivered")
        got = list(receiver.received)
    assert got[0].skyvern_signature_ok(served.key)
    body = json.loads(got[0].body)
    assert body["run_id"] == run.run_id and body["status"] == "completed"
    assert body["model_usage"] == {
        "input_tokens": 2500,
        "cached_input_tokens": 2000,
        "cache_write_tokens": 0,
        "output_tokens": 75,
        "llm_calls": 2,
        "cost_usd": 0.0091,
    }


def test_retry_run_webhook_can_send_elsewhere_and_refuses_private_targets(served: Served) -> None:
    client = served.client()
    run = client.run_task(prompt="No webhook on this one", url="https://example.com")
    served.finish(run.run_id)
    with running(WebhookReceiver()) as receiver:
        report = client.retry_run_webhook(
            run.run_id, request=RetryRunWebhookRequest(webhook_url=receiver.url)
        )
        assert len(receiver.received) == 1
    assert report.default_webhook_url is None and report.target_webhook_url == receiver.url
    assert report.status_code == 200

    with pytest.raises(ApiError) as refused:
        client.retry_run_webhook(
            run.run_id, request=RetryRunWebhookRequest(webhook_url="http://169.254.169.254/latest/meta-data/")
        )
    assert refused.value.status_code == 400
    assert "cloud metadata" in refused.value.body["detail"]


def test_run_task_refuses_a_webhook_url_inside_the_network(served: Served) -> None:
    with pytest.raises(ApiError) as refused:
        served.client().run_task(prompt="x", url="https://example.com", webhook_url="http://10.0.0.1/hook")
    assert refused.value.status_code == 400
    assert refused.value.body["detail"].startswith(
        "webhook_url is not allowed: 10.0.0.1 is a private address"
    )
