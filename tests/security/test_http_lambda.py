"""The `api` Lambda (moto): artifact bytes come back base64-encoded with isBase64Encoded, as
API Gateway needs them; S3 keeps untrusted files as downloads; the same headers as embedded."""

from __future__ import annotations

import base64
import json
import logging
import time
from collections.abc import Iterator
from dataclasses import dataclass
from types import ModuleType
from typing import Any
from urllib.parse import parse_qs, urlencode, urlsplit

import boto3
import pytest
import requests

from altostratus.adapters.file_artifacts import link_signature
from altostratus.api.gateway_event import http_api_event
from altostratus.domain import events as ev
from altostratus.domain.enums import ArtifactType
from altostratus.ports.artifacts import DEFAULT_URL_TTL_S
from altostratus.runtimes import aws as aws_runtime
from altostratus.runtimes.aws import link_secret
from tests.support.aws import MotoAws, moto_aws
from tests.support.functions import FakeLambdaContext, load_function
from tests.support.http_security import SeededRun, seed_run
from tests.support.runs import created, d

HOST = "abc123.execute-api.us-east-1.amazonaws.com"


@dataclass
class Deployed:
    aws: MotoAws
    function: ModuleType
    key: str
    run: SeededRun

    def call(self, method: str, path: str, **kwargs: Any) -> dict[str, Any]:
        headers = {"host": HOST, **kwargs.pop("headers", {})}
        event = http_api_event(method, path, headers=headers, **kwargs)
        reply: dict[str, Any] = self.function.handler(event, FakeLambdaContext())
        return reply


@pytest.fixture
def deployed(monkeypatch: pytest.MonkeyPatch) -> Iterator[Deployed]:
    with moto_aws() as aws:
        for name, value in aws.environment().items():
            monkeypatch.setenv(name, value)
        aws_runtime.forget_environment()
        function = load_function("api")
        rt = aws_runtime.runtime()
        org = rt.keys.create_org("acme")
        _, key = rt.keys.create_key(org.org_id)
        run = seed_run(
            rt.event_log,
            rt.artifacts,
            org_id=org.org_id,
            run_id=f"tsk_v2_{rt.ids.number()}",
            number=rt.ids.number,
        )
        yield Deployed(aws=aws, function=function, key=key, run=run)
        aws_runtime.forget_environment()


def test_a_png_artifact_is_answered_base64_encoded_and_decodes_exactly(deployed: Deployed) -> None:
    png = deployed.run.artifacts["png"]
    reply = deployed.call(
        "GET", f"/v1/artifacts/{png.artifact_id}/content", headers={"x-api-key": deployed.key}
    )
    assert reply["statusCode"] == 200
    assert reply["isBase64Encoded"] is True
    assert base64.b64decode(reply["body"]) == png.data
    headers = reply["headers"]
    assert headers["Content-Type"] == "image/png"
    assert headers["Content-Length"] == str(len(png.data))
    assert headers["X-Content-Type-Options"] == "nosniff"
    assert headers["Referrer-Policy"] == "no-referrer"
    assert headers["Content-Disposition"].startswith("inline")


def test_a_range_of_a_recording_is_a_206_on_lambda_too(deployed: Deployed) -> None:
    webm = deployed.run.artifacts["webm"]
    reply = deployed.call(
        "GET",
        f"/v1/artifacts/{webm.artifact_id}/content",
        headers={"x-api-key": deployed.key, "range": "bytes=10-19"},
    )
    assert reply["statusCode"] == 206
    assert base64.b64decode(reply["body"]) == webm.data[10:20]
    assert reply["headers"]["Content-Range"] == f"bytes 10-19/{len(webm.data)}"


def _fetch_link(deployed: Deployed, link: str) -> dict[str, Any]:
    """A signed link, fetched without a key through the api function it points at."""
    parts = urlsplit(link)
    assert parts.scheme == "https" and parts.netloc == HOST, link
    return deployed.call("GET", parts.path, query=parts.query)


def _body(reply: dict[str, Any]) -> bytes:
    body: str = reply["body"]
    return base64.b64decode(body) if reply.get("isBase64Encoded") else body.encode()


def test_signed_links_answer_the_exact_bytes_and_untrusted_files_download(deployed: Deployed) -> None:
    reply = deployed.call(
        "GET", f"/v1/runs/{deployed.run.run_id}/artifacts", headers={"x-api-key": deployed.key}
    )
    assert reply["statusCode"] == 200
    assert reply["headers"]["Cache-Control"] == "no-store"
    listed = {a["artifact_id"]: a for a in json.loads(reply["body"])}
    s3 = boto3.client("s3", region_name="us-east-1")
    for name, stored in deployed.run.artifacts.items():
        # The API's own signed link, not an S3 presigned URL (those die with the function
        # role's temporary credentials, before the expiry the API states).
        link = listed[stored.artifact_id]["signed_url"]
        assert "X-Amz-" not in link
        fetched = _fetch_link(deployed, link)
        assert fetched["statusCode"] == 200
        assert _body(fetched) == stored.data
        bucket, _, key = listed[stored.artifact_id]["uri"].removeprefix("s3://").partition("/")
        disposition = s3.head_object(Bucket=bucket, Key=key).get("ContentDisposition")
        if name in {"png", "webm"}:
            assert disposition is None
            assert fetched["headers"]["Content-Disposition"].startswith("inline")
        else:
            assert disposition == "attachment"
            assert fetched["headers"]["Content-Disposition"].startswith("attachment")


def test_a_signed_link_holds_until_its_stated_expiry_and_not_after(deployed: Deployed) -> None:
    png = deployed.run.artifacts["png"]
    reply = deployed.call("GET", f"/v1/artifacts/{png.artifact_id}", headers={"x-api-key": deployed.key})
    link = json.loads(reply["body"])["signed_url"]
    expires = int(parse_qs(urlsplit(link).query)["expires"][0])
    assert expires - time.time() > DEFAULT_URL_TTL_S - 60  # the day the API promises
    assert _fetch_link(deployed, link)["statusCode"] == 200
    # The same artifact, a link signed with the deployment's key but already expired.
    rt = aws_runtime.runtime()
    past = int(time.time()) - 1
    secret = link_secret(aws_runtime.master_key(rt.settings))
    stale = f"https://{HOST}/v1/artifacts/{png.artifact_id}/content?" + urlencode(
        {"expires": past, "signature": link_signature(secret, png.artifact_id, past)}
    )
    assert _fetch_link(deployed, stale)["statusCode"] == 403
    # A link for one artifact opens no other.
    other = deployed.run.artifacts["webm"].artifact_id
    assert _fetch_link(deployed, link.replace(png.artifact_id, other))["statusCode"] == 403


def test_a_file_too_large_for_a_lambda_answer_redirects_to_a_short_lived_s3_link(
    deployed: Deployed,
) -> None:
    rt = aws_runtime.runtime()
    big = bytes(range(256)) * (5 * 4096)  # 5 MiB
    run_id = f"tsk_v2_{rt.ids.number()}"
    uri = rt.artifacts.put(f"{deployed.run.org_id}/{run_id}/a_big.webm", big, content_type="video/webm")
    stored = ev.ArtifactStored(
        artifact_id="a_big", artifact_type=ArtifactType.RECORDING, uri=uri, content_type="video/webm",
        file_size=len(big),
    )  # fmt: skip
    rt.event_log.append(run_id, [created(deployed.run.org_id), d(ev.RunQueued()), d(stored)])
    webm = stored
    listed = deployed.call("GET", f"/v1/artifacts/{webm.artifact_id}", headers={"x-api-key": deployed.key})
    redirect = _fetch_link(deployed, json.loads(listed["body"])["signed_url"])
    assert redirect["statusCode"] == 302
    location = redirect["headers"]["Location"]
    query = parse_qs(urlsplit(location).query)
    if "X-Amz-Expires" in query:
        assert query["X-Amz-Expires"] == ["300"]
    else:  # a SigV2 link states the moment it ends
        assert 0 < int(query["Expires"][0]) - time.time() <= 300
    # moto answers presigned GETs made with `requests` in-process, as S3 would.
    fetched = requests.get(location, timeout=10)
    assert fetched.status_code == 200 and fetched.content == big


def test_a_malformed_body_is_a_4xx_on_lambda_too(deployed: Deployed) -> None:
    reply = deployed.call(
        "POST",
        "/v1/run/tasks",
        headers={"x-api-key": deployed.key, "content-type": "application/json"},
        body=b'{"prompt": "\xff"}',
    )
    assert reply["statusCode"] == 400
    assert "not UTF-8" in json.loads(reply["body"])["detail"]
    deep = deployed.call(
        "POST",
        "/v1/run/tasks",
        headers={"x-api-key": deployed.key, "content-type": "application/json"},
        body="[" * 2000 + "]" * 2000,
    )
    assert deep["statusCode"] == 400


def test_request_bodies_stay_out_of_the_logs_when_everything_logs_at_debug(
    deployed: Deployed, caplog: pytest.LogCaptureFixture
) -> None:
    # GIVEN the function's root logger at DEBUG (Lambda's log level control, or a debugging user)
    caplog.set_level(logging.DEBUG)
    code, password, card = "482913", "Hunter2-correct-horse", "4111111111111111"
    headers = {"x-api-key": deployed.key, "content-type": "application/json"}
    # WHEN a code is pushed and a password and a card are saved
    pushed = deployed.call(
        "POST",
        "/v1/credentials/totp",
        headers=headers,
        body=json.dumps({"totp_identifier": "ada@example.com", "content": code}),
    )
    saved = deployed.call(
        "POST",
        "/v1/credentials",
        headers=headers,
        body=json.dumps(
            {
                "name": "portal",
                "credential_type": "password",
                "credential": {"username": "ada", "password": password},
            }
        ),
    )
    card_saved = deployed.call(
        "POST",
        "/v1/credentials",
        headers=headers,
        body=json.dumps(
            {
                "name": "card",
                "credential_type": "credit_card",
                "credential": {
                    "card_number": card,
                    "card_cvv": "012",
                    "card_exp_month": "12",
                    "card_exp_year": "2030",
                    "card_brand": "visa",
                    "card_holder_name": "Ada Lovelace",
                },
            }
        ),
    )
    assert [pushed["statusCode"], saved["statusCode"], card_saved["statusCode"]] == [200, 201, 201]
    # THEN debug records were written, and none holds a value from the bodies
    assert any(r.levelno == logging.DEBUG for r in caplog.records)
    logged = "\n".join(f"{r.name} {r.getMessage()} {vars(r)}" for r in caplog.records)
    for value in (code, password, card):
        assert value not in logged
