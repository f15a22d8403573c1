"""The code-endpoint contract over its adapter (httpx), against real receivers on 127.0.0.1:
the signed ask reaches the endpoint, codes and "no code yet" are told apart, and redirects
are followed only as far as the address policy and the origin rules allow."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from altostratus.adapters.http_code_endpoint import HttpCodeEndpoint
from altostratus.ports.code_endpoints import MAX_REDIRECTS, CodeEndpoint
from altostratus.security.callback_targets import CallbackTargets
from altostratus.security.targets import TargetPolicy
from tests.support.webhook_receiver import WebhookReceiver, running, statuses

BODY = b'{"task_id":"tsk_1"}'
SIGNED = {
    "Content-Type": "application/json",
    "x-skyvern-signature": "abc",
    "x-skyvern-timestamp": "1",
    "webhook-id": "msg_1",
    "webhook-timestamp": "1",
    "webhook-signature": "v1,abc",
}


@pytest.fixture(params=["httpx"])
def endpoint(request: pytest.FixtureRequest) -> Iterator[CodeEndpoint]:
    adapter = HttpCodeEndpoint(CallbackTargets(TargetPolicy.parse("127.0.0.1")), timeout_s=2)
    yield adapter
    adapter.close()


def _answer(body: bytes) -> WebhookReceiver:
    return WebhookReceiver(response_body=body)


def test_the_signed_ask_reaches_the_endpoint_and_its_code_comes_back(endpoint: CodeEndpoint) -> None:
    with running(_answer(b'{"verification_code":"123456"}')) as receiver:
        answer = endpoint.ask(receiver.url, BODY, SIGNED)
        asked = receiver.received[0]
    assert (answer.status_code, answer.code, answer.problem) == (200, "123456", None)
    assert asked.body == BODY
    assert {k: asked.headers[k.lower()] for k in SIGNED} == SIGNED


@pytest.mark.parametrize(
    ("body", "described"),
    [
        (b'{"verification_code":""}', "200 without a code"),
        (b"{}", "200 without a code"),
        (b"[1]", "200 whose JSON is not an object"),
        (b"not json", "200 whose body is not valid JSON"),
    ],
)
def test_an_answer_without_a_code_says_what_it_was(
    endpoint: CodeEndpoint, body: bytes, described: str
) -> None:
    with running(_answer(body)) as receiver:
        answer = endpoint.ask(receiver.url, BODY, SIGNED)
    assert answer.code is None and answer.describe() == described


def test_another_status_is_recorded_as_such(endpoint: CodeEndpoint) -> None:
    with running(WebhookReceiver(script=statuses(404))) as receiver:
        answer = endpoint.ask(receiver.url, BODY, SIGNED)
    assert answer.code is None and answer.describe() == "status 404"


def test_a_refused_address_is_never_contacted(endpoint: CodeEndpoint) -> None:
    answer = endpoint.ask("http://169.254.169.254/latest/meta-data/", BODY, SIGNED)
    assert answer.status_code is None and (answer.problem or "").startswith("refused: ")
    assert "169.254.169.254/latest" not in answer.describe()


def test_a_same_origin_307_keeps_the_signed_post(endpoint: CodeEndpoint) -> None:
    hop = WebhookReceiver(
        script=lambda n: 307 if n == 1 else 200, response_body=b'{"verification_code":"4242"}'
    )
    with running(hop):
        hop.extra_headers = {"location": hop.url + "/next"}
        answer = endpoint.ask(hop.url, BODY, SIGNED)
        assert [r.path for r in hop.received] == ["/hooks/alto", "/hooks/alto/next"]
        assert hop.received[1].body == BODY
        assert hop.received[1].headers["x-skyvern-signature"] == "abc"
    assert answer.code == "4242"


def test_a_redirect_to_another_origin_drops_the_signature(endpoint: CodeEndpoint) -> None:
    with running(_answer(b'{"verification_code":"9999"}')) as elsewhere:
        with running(WebhookReceiver(script=statuses(302))) as hop:
            hop.extra_headers = {"location": elsewhere.url}
            answer = endpoint.ask(hop.url, BODY, SIGNED)
        landed = elsewhere.received[0]
    assert answer.code == "9999"
    assert not {"x-skyvern-signature", "webhook-signature"} & set(landed.headers)


def test_a_307_to_another_origin_is_refused(endpoint: CodeEndpoint) -> None:
    with running(_answer(b'{"verification_code":"9999"}')) as elsewhere:
        with running(WebhookReceiver(script=statuses(307))) as hop:
            hop.extra_headers = {"location": elsewhere.url}
            answer = endpoint.ask(hop.url, BODY, SIGNED)
        assert elsewhere.received == []
    assert answer.code is None and "another origin" in answer.describe()


def test_a_redirect_to_a_refused_address_is_checked_again_and_not_followed(endpoint: CodeEndpoint) -> None:
    with running(WebhookReceiver(script=statuses(302))) as hop:
        hop.extra_headers = {"location": "http://10.1.2.3/codes"}
        answer = endpoint.ask(hop.url, BODY, SIGNED)
    assert answer.code is None and (answer.problem or "").startswith("refused: ")


def test_redirects_are_limited(endpoint: CodeEndpoint) -> None:
    with running(WebhookReceiver(script=statuses(307))) as loop:
        loop.extra_headers = {"location": loop.url}
        answer = endpoint.ask(loop.url, BODY, SIGNED)
        assert len(loop.received) == MAX_REDIRECTS + 1
    assert answer.describe() == f"more than {MAX_REDIRECTS} redirects"
