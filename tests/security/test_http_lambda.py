"""The `api` Lambda (moto): artifact bytes come back base64-encoded with isBase64Encoded, as
API Gateway needs them; S3 keeps untrusted files as downloads; the same headers as embedded."""

from __future__ import annotations

import base64
import json
from collections.abc import Iterator
from dataclasses import dataclass
from types import ModuleType
from typing import Any

import boto3
import pytest
import requests

from altostratus.api.gateway_event import http_api_event
from altostratus.runtimes import aws as aws_runtime
from tests.support.aws import MotoAws, moto_aws
from tests.support.functions import FakeLambdaContext, load_function
from tests.support.http_security import SeededRun, seed_run


@dataclass
class Deployed:
    aws: MotoAws
    function: ModuleType
    key: str
    run: SeededRun

    def call(self, method: str, path: str, **kwargs: Any) -> dict[str, Any]:
        headers = {"host": "abc123.execute-api.us-east-1.amazonaws.com", **kwargs.pop("headers", {})}
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


def test_s3_links_answer_the_exact_bytes_and_untrusted_files_download(deployed: Deployed) -> None:
    reply = deployed.call(
        "GET", f"/v1/runs/{deployed.run.run_id}/artifacts", headers={"x-api-key": deployed.key}
    )
    assert reply["statusCode"] == 200
    assert reply["headers"]["Cache-Control"] == "no-store"
    listed = {a["artifact_id"]: a for a in json.loads(reply["body"])}
    s3 = boto3.client("s3", region_name="us-east-1")
    for name, stored in deployed.run.artifacts.items():
        link = listed[stored.artifact_id]["signed_url"]
        # moto answers presigned GETs made with `requests` in-process, as S3 would.
        fetched = requests.get(link, timeout=10)
        assert fetched.status_code == 200
        assert fetched.content == stored.data
        bucket, _, key = listed[stored.artifact_id]["uri"].removeprefix("s3://").partition("/")
        disposition = s3.head_object(Bucket=bucket, Key=key).get("ContentDisposition")
        if name in {"png", "webm"}:
            assert disposition is None
        else:
            assert disposition == "attachment"
            assert fetched.headers["content-disposition"] == "attachment"


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
