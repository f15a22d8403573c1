"""One POST to a real receiver: address checks at send time, DNS pinning, timeouts, no
redirects, Retry-After, and a truncated record of the answer."""

from __future__ import annotations

import threading
from collections.abc import Sequence
from datetime import UTC, datetime

from altostratus.security.callback_targets import CallbackTargets
from altostratus.security.targets import TargetPolicy
from altostratus.webhooks.policy import WebhookRetryPolicy
from altostratus.webhooks.sender import WebhookSender
from tests.support.webhook_receiver import WebhookReceiver, running, statuses

NOW = datetime(2026, 1, 31, 15, 0, tzinfo=UTC)
BODY = b'{"run_id":"tsk_1"}'
HEADERS = {"Content-Type": "application/json", "webhook-id": "msg_tsk_1"}


def sender(allowed: str = "127.0.0.1", *, resolver: object = None, **policy: float) -> WebhookSender:
    targets = CallbackTargets(TargetPolicy.parse(allowed, resolver=resolver))  # type: ignore[arg-type]
    return WebhookSender(targets, WebhookRetryPolicy(**policy))  # type: ignore[arg-type]


def test_a_2xx_answer_is_delivered_and_its_body_kept_truncated() -> None:
    with running(WebhookReceiver(response_body=b"x" * 10_000)) as receiver:
        result = sender().post(receiver.url, BODY, HEADERS, now=NOW)
        assert receiver.received[0].body == BODY
        assert receiver.received[0].headers["webhook-id"] == "msg_tsk_1"
    assert result.delivered and result.status_code == 200
    assert result.response_body == "x" * 2048
    assert result.latency_ms >= 0


def test_a_redirect_is_reported_not_followed() -> None:
    with running(WebhookReceiver()) as elsewhere, running(WebhookReceiver(script=statuses(302))) as receiver:
        receiver.extra_headers = {"location": elsewhere.url}
        result = sender().post(receiver.url, BODY, HEADERS, now=NOW)
        assert elsewhere.received == []
    assert not result.delivered and not result.retryable
    assert result.describe() == "the receiver answered 302 (a redirect; redirects are not followed)"


def test_throttling_with_retry_after_is_retried_after_the_asked_time() -> None:
    with running(WebhookReceiver(script=statuses(429), extra_headers={"retry-after": "7"})) as receiver:
        result = sender().post(receiver.url, BODY, HEADERS, now=NOW)
    assert result.retryable and result.retry_after_s == 7


def test_a_receiver_that_does_not_answer_in_time_is_a_retryable_timeout() -> None:
    release = threading.Event()

    def slow(n: int) -> int:
        release.wait(10)
        return 200

    with running(WebhookReceiver(script=slow)) as receiver:
        result = sender(timeout_s=0.2).post(receiver.url, BODY, HEADERS, now=NOW)
        release.set()
    assert result.status_code is None and result.retryable
    assert result.error is not None and result.error.startswith("no answer within 0.2 s")


def test_a_private_address_is_refused_at_send_time_without_a_request() -> None:
    with running(WebhookReceiver()) as receiver:
        result = sender(allowed="").post(receiver.url, BODY, HEADERS, now=NOW)
        assert receiver.received == []
    assert result.refused and not result.retryable
    assert result.error == "refused: 127.0.0.1 is a loopback address"


def test_a_name_is_resolved_once_and_the_request_goes_to_the_checked_address() -> None:
    lookups: list[str] = []

    def rebinding_dns(name: str) -> Sequence[str]:
        # First answer allowed, every later one private: only the first may ever be used.
        lookups.append(name)
        return ["127.0.0.1"] if len(lookups) == 1 else ["10.9.9.9"]

    with running(WebhookReceiver()) as receiver:
        port = receiver.url.split(":")[2].split("/")[0]
        result = sender(resolver=rebinding_dns).post(
            f"http://hooks.example.test:{port}/hooks/alto", BODY, HEADERS, now=NOW
        )
        got = receiver.received
    assert result.delivered
    assert lookups == ["hooks.example.test"]
    assert got[0].headers["host"] == f"hooks.example.test:{port}"


def test_a_name_that_now_resolves_to_a_private_address_is_refused() -> None:
    result = sender(allowed="", resolver=lambda name: ["10.0.0.7"]).post(
        "https://hooks.example.test/x", BODY, HEADERS, now=NOW
    )
    assert result.refused
    assert result.error == "refused: hooks.example.test resolves to 10.0.0.7, a private address"


def test_a_name_that_does_not_resolve_is_a_retryable_network_error() -> None:
    def no_dns(name: str) -> Sequence[str]:
        raise OSError("no such host")

    result = sender(allowed="", resolver=no_dns).post("https://hooks.example.test/x", BODY, HEADERS, now=NOW)
    assert result.retryable and not result.refused
    assert result.error == "the receiver's host name does not resolve"
