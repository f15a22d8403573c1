"""The run viewer on AWS: served by the `api` Lambda itself (moto), with no other
infrastructure; cookies travel in the payload's `cookies` field; `app_url` is the API's own
address; the pages may show images and video from the artifacts bucket's signed links."""

from __future__ import annotations

import json
from collections.abc import Iterator
from types import ModuleType
from typing import Any
from urllib.parse import urlsplit

import pytest

from altostratus.api.gateway_event import http_api_event
from altostratus.runtimes import aws as aws_runtime
from tests.support.aws import moto_aws
from tests.support.functions import FakeLambdaContext, load_function
from tests.support.template import load_template, resource

HOST = "abc123.execute-api.us-east-1.amazonaws.com"


@pytest.fixture
def deployed(monkeypatch: pytest.MonkeyPatch) -> Iterator[tuple[ModuleType, str]]:
    with moto_aws() as aws:
        for name, value in aws.environment().items():
            monkeypatch.setenv(name, value)
        aws_runtime.forget_environment()
        function = load_function("api")
        org = aws_runtime.runtime().keys.create_org("acme")
        _, key = aws_runtime.runtime().keys.create_key(org.org_id)
        yield function, key
        aws_runtime.forget_environment()


def _call(function: ModuleType, method: str, path: str, **kwargs: Any) -> dict[str, Any]:
    cookies = kwargs.pop("cookies", None)
    headers = {"host": HOST, "x-forwarded-proto": "https", **kwargs.pop("headers", {})}
    event = http_api_event(method, path, headers=headers, **kwargs)
    if cookies:
        event["cookies"] = cookies  # as API Gateway passes them (payload 2.0)
    reply: dict[str, Any] = function.handler(event, FakeLambdaContext())
    return reply


def test_the_api_lambda_serves_the_viewer_with_secure_cookies(deployed: tuple[ModuleType, str]) -> None:
    function, key = deployed
    root = _call(function, "GET", "/")
    assert root["statusCode"] == 302 and root["headers"]["Location"] == "/runs"

    signed = _call(
        function,
        "POST",
        "/viewer/api/session",
        headers={"content-type": "application/json", "origin": f"https://{HOST}"},
        body=json.dumps({"api_key": key}),
    )
    assert signed["statusCode"] == 200, signed["body"]
    set_cookies = [str(c) for c in signed["cookies"]]
    assert all(c.startswith("__Host-") and "Secure" in c and "SameSite=Strict" in c for c in set_cookies)
    jar = [c.split(";")[0] for c in set_cookies]
    csrf = next(p.split("=", 1)[1] for p in jar if p.startswith("__Host-alto_csrf="))

    submitted = _call(
        function,
        "POST",
        "/v1/run/tasks",
        headers={"x-api-key": key, "content-type": "application/json"},
        body=json.dumps({"prompt": "Find the title", "url": "https://example.com"}),
    )
    run = json.loads(submitted["body"])
    assert run["app_url"] == f"https://{HOST}/runs/{run['run_id']}"

    page = _call(function, "GET", urlsplit(run["app_url"]).path, cookies=jar)
    assert page["statusCode"] == 200 and page["headers"]["Content-Type"].startswith("text/html")
    policy = page["headers"]["Content-Security-Policy"]
    bucket_origin = next(p for p in policy.split("; ") if p.startswith("img-src")).split()[2]
    assert bucket_origin.startswith("https://") and "s3" in bucket_origin
    assert f"media-src 'self' {bucket_origin}" in policy and "script-src 'self';" in policy

    detail = _call(
        function, "GET", f"/viewer/api/runs/{run['run_id']}", cookies=jar, headers={"x-alto-csrf": csrf}
    )
    assert detail["statusCode"] == 200
    assert json.loads(detail["body"])["run"]["app_url"] == run["app_url"]
    # Plain HTTP names do not match the __Host- cookies: no session.
    assert (
        _call(
            function,
            "GET",
            "/viewer/api/session",
            cookies=[p.removeprefix("__Host-") for p in jar],
            headers={"x-alto-csrf": csrf},
        )["statusCode"]
        == 403
    )


def test_the_template_routes_the_root_to_the_api_and_gives_webhooks_the_viewers_base() -> None:
    template = load_template()
    events = resource(template, "ApiFunction")["Events"]
    assert {e["Properties"]["Path"] for e in events.values()} == {"/", "/{proxy+}"}
    webhook_env = resource(template, "WebhookFunction")["Environment"]["Variables"]
    assert "ALTO_APP_URL" in webhook_env
