"""Artifact bytes over real HTTP from `alto serve`: every link the API hands out answers the
exact bytes, with headers that keep untrusted content from running on the API origin."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any
from urllib.parse import quote

import httpx
import pytest

from altostratus.domain import events as ev
from altostratus.domain.enums import ArtifactType
from tests.support.http_security import SeededServer, StoredArtifact, seeded_server
from tests.support.runs import d
from tests.support.webhook_receiver import WebhookReceiver, running

INLINE = {"png", "webm"}
DOWNLOADS = {"pdf", "html", "svg"}


@dataclass
class Served(SeededServer):
    receiver: WebhookReceiver | None = None


@pytest.fixture(scope="module")
def served(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Served]:
    with (
        running(WebhookReceiver()) as receiver,
        seeded_server(tmp_path_factory.mktemp("alto-http-artifacts"), webhook_url=receiver.url) as seeded,
    ):
        yield Served(
            server=seeded.server, key=seeded.key, store=seeded.store, run=seeded.run, receiver=receiver
        )


def _by_id(served: SeededServer) -> dict[str, tuple[str, StoredArtifact]]:
    return {a.artifact_id: (name, a) for name, a in served.run.artifacts.items()}


def _assert_standing_headers(response: httpx.Response) -> None:
    assert response.headers["x-content-type-options"] == "nosniff"
    assert response.headers["referrer-policy"] == "no-referrer"
    assert "content-security-policy" in response.headers


def _assert_served_as(response: httpx.Response, name: str, artifact: StoredArtifact) -> None:
    assert response.status_code == 200, response.text
    assert response.content == artifact.data
    assert response.headers["content-type"] == artifact.content_type
    assert response.headers["content-length"] == str(len(artifact.data))
    assert response.headers["etag"] == f'"{hashlib.sha256(artifact.data).hexdigest()}"'
    assert response.headers["accept-ranges"] == "bytes"
    _assert_standing_headers(response)
    disposition = response.headers["content-disposition"]
    assert "sandbox" in response.headers["content-security-policy"]
    if name in INLINE:
        assert disposition.startswith("inline")
    else:
        assert disposition.startswith("attachment")
        assert "default-src 'none'" in response.headers["content-security-policy"]


def test_every_link_in_get_run_answers_the_exact_bytes(served: SeededServer) -> None:
    # GIVEN the run as the official SDK reads it
    run = served.client().get_run(served.run.run_id)
    arts = served.run.artifacts
    # THEN the screenshot, the recording and each downloaded file answer byte for byte, keyless
    assert run.screenshot_urls is not None and len(run.screenshot_urls) == 1
    _assert_served_as(httpx.get(run.screenshot_urls[0], timeout=10), "png", arts["png"])
    assert run.recording_url is not None
    _assert_served_as(httpx.get(run.recording_url, timeout=10), "webm", arts["webm"])
    files = {f.artifact_id: f for f in run.downloaded_files or []}
    assert set(files) == {arts["pdf"].artifact_id, arts["svg"].artifact_id}
    for name in ("pdf", "svg"):
        _assert_served_as(httpx.get(files[arts[name].artifact_id].url, timeout=10), name, arts[name])


def _assert_links_in_run_body(served: SeededServer, body: dict[str, Any]) -> None:
    arts = served.run.artifacts
    [screenshot] = body["screenshot_urls"]
    _assert_served_as(httpx.get(screenshot, timeout=10), "png", arts["png"])
    _assert_served_as(httpx.get(body["recording_url"], timeout=10), "webm", arts["webm"])
    by_id = {f["artifact_id"]: f["url"] for f in body["downloaded_files"]}
    for name in ("pdf", "svg"):
        _assert_served_as(httpx.get(by_id[arts[name].artifact_id], timeout=10), name, arts[name])


def test_every_link_in_the_webhook_answers_the_exact_bytes(served: Served) -> None:
    # GIVEN the webhook the server sent when the run finished, and one replayed through the SDK
    assert served.receiver is not None
    delivered = served.receiver.wait_for(lambda got: len(got) >= 1)
    replay = served.client().retry_run_webhook(served.run.run_id)
    assert replay.status_code == 200
    # THEN every link in both (signed, keyless) answers byte for byte
    for body in (delivered[0].json(), json.loads(replay.payload)):
        assert body["run_id"] == served.run.run_id
        _assert_links_in_run_body(served, body)


def test_sdk_artifact_links_answer_the_exact_bytes_with_safe_headers(served: SeededServer) -> None:
    listed = served.client().get_run_artifacts(served.run.run_id)
    known = _by_id(served)
    assert {a.artifact_id for a in listed} == set(known)
    for artifact in listed:
        name, stored = known[artifact.artifact_id]
        assert artifact.signed_url is not None
        _assert_served_as(httpx.get(artifact.signed_url, timeout=10), name, stored)


def test_the_keyed_content_route_answers_the_same_bytes(served: SeededServer) -> None:
    for name, stored in served.run.artifacts.items():
        response = httpx.get(
            f"{served.base_url}/v1/artifacts/{stored.artifact_id}/content",
            headers={"x-api-key": served.key},
            timeout=10,
        )
        _assert_served_as(response, name, stored)


def test_downloads_carry_their_file_name_safely(served: SeededServer) -> None:
    pdf = served.run.artifacts["pdf"]
    assert pdf.filename is not None
    response = httpx.get(
        f"{served.base_url}/v1/artifacts/{pdf.artifact_id}/content", headers={"x-api-key": served.key}
    )
    disposition = response.headers["content-disposition"]
    # An ASCII stand-in for every client and the exact UTF-8 name for those that read filename*.
    assert 'filename="invoice _t_ 2026.pdf"' in disposition
    assert f"filename*=UTF-8''{quote(pdf.filename, safe='')}" in disposition
    # A name chosen by a web page cannot add a header or break out of the quotes.
    svg = served.run.artifacts["svg"]
    nasty = httpx.get(
        f"{served.base_url}/v1/artifacts/{svg.artifact_id}/content", headers={"x-api-key": served.key}
    )
    assert "x-injected" not in nasty.headers
    assert nasty.headers["content-disposition"].startswith('attachment; filename="logo___X-Injected_ 1.svg"')
    html = served.run.artifacts["html"]
    scraped = httpx.get(
        f"{served.base_url}/v1/artifacts/{html.artifact_id}/content", headers={"x-api-key": served.key}
    )
    assert f'attachment; filename="{html.artifact_id}.html"' in scraped.headers["content-disposition"]


@pytest.mark.parametrize(
    "path",
    ["/v1/runs/{run_id}", "/v1/runs/{run_id}/timeline", "/v1/runs/{run_id}/artifacts", "/v1/runs"],
)
def test_json_answers_are_never_cached_sniffed_or_framed(served: SeededServer, path: str) -> None:
    url = served.base_url + path.format(run_id=served.run.run_id)
    for headers, status in (({"x-api-key": served.key}, 200), ({}, 403)):
        response = httpx.get(url, headers=headers)
        assert response.status_code == status
        assert response.headers["content-type"].startswith("application/json")
        assert response.headers["cache-control"] == "no-store"
        assert "frame-ancestors 'none'" in response.headers["content-security-policy"]
        _assert_standing_headers(response)


def test_errors_and_the_health_check_carry_the_standing_headers(served: SeededServer) -> None:
    for response in (
        httpx.get(f"{served.base_url}/v1/runs/tsk_404", headers={"x-api-key": served.key}),
        httpx.get(f"{served.base_url}/v1/nothing-here", headers={"x-api-key": served.key}),
        httpx.get(f"{served.base_url}/health"),
        httpx.post(
            f"{served.base_url}/v1/run/tasks", headers={"x-api-key": served.key}, content=b"x" * 1_100_000
        ),
    ):
        assert response.status_code in {200, 404, 413}
        assert response.headers["cache-control"] == "no-store"
        _assert_standing_headers(response)
        assert "detail" in response.json() or response.json()["status"] == "ok"


def _recording(served: SeededServer) -> tuple[str, bytes]:
    webm = served.run.artifacts["webm"]
    return f"{served.base_url}/v1/artifacts/{webm.artifact_id}/content", webm.data


def test_a_video_can_be_read_in_ranges(served: SeededServer) -> None:
    url, data = _recording(served)
    key = {"x-api-key": served.key}
    size = len(data)
    for asked, first, last in (
        ("bytes=0-99", 0, 99),
        (f"bytes={size - 1000}-", size - 1000, size - 1),
        ("bytes=-10", size - 10, size - 1),
        (f"bytes=100-{size * 2}", 100, size - 1),  # a last byte past the end is clamped
    ):
        response = httpx.get(url, headers={**key, "range": asked})
        assert response.status_code == 206, asked
        assert response.content == data[first : last + 1]
        assert response.headers["content-range"] == f"bytes {first}-{last}/{size}"
        assert response.headers["content-length"] == str(last - first + 1)
        assert response.headers["accept-ranges"] == "bytes"
        assert response.headers["content-type"] == "video/webm"


def test_an_unsatisfiable_range_is_a_416_naming_the_size(served: SeededServer) -> None:
    url, data = _recording(served)
    response = httpx.get(url, headers={"x-api-key": served.key, "range": f"bytes={len(data)}-"})
    assert response.status_code == 416
    assert response.headers["content-range"] == f"bytes */{len(data)}"
    assert f"{len(data)} bytes" in response.json()["detail"]
    _assert_standing_headers(response)


@pytest.mark.parametrize(
    "asked", ["bytes=0-1,5-9", "items=0-5", "bytes=9-2", "bytes=" + "9" * 40 + "-", "nonsense"]
)
def test_ranges_the_server_does_not_serve_answer_the_whole_body(served: SeededServer, asked: str) -> None:
    url, data = _recording(served)
    response = httpx.get(url, headers={"x-api-key": served.key, "range": asked})
    assert response.status_code == 200
    assert response.content == data


def test_if_range_with_another_etag_answers_the_whole_body(served: SeededServer) -> None:
    url, data = _recording(served)
    key = {"x-api-key": served.key}
    tag = httpx.get(url, headers=key).headers["etag"]
    assert httpx.get(url, headers={**key, "range": "bytes=0-9", "if-range": tag}).status_code == 206
    stale = httpx.get(url, headers={**key, "range": "bytes=0-9", "if-range": '"stale"'})
    assert stale.status_code == 200 and stale.content == data


def test_an_unchanged_artifact_revalidates_with_304(served: SeededServer) -> None:
    png = served.run.artifacts["png"]
    link = (
        served.client().get_run_artifacts(served.run.run_id, artifact_type="screenshot_final")[0].signed_url
    )
    assert link is not None
    first = httpx.get(link)
    tag = first.headers["etag"]
    again = httpx.get(link, headers={"if-none-match": tag})
    assert again.status_code == 304
    assert again.content == b""
    assert again.headers["etag"] == tag
    assert httpx.get(link, headers={"if-none-match": f'W/"x", {tag}'}).status_code == 304
    changed = httpx.get(link, headers={"if-none-match": '"something-else"'})
    assert changed.status_code == 200 and changed.content == png.data


def test_an_artifact_whose_bytes_are_gone_is_a_404(served: SeededServer) -> None:
    store = served.store
    run_id = served.run.run_id
    artifact_id = f"a_{store.ids.number()}"
    key = f"{served.run.org_id}/{run_id}/{artifact_id}.png"
    uri = store.artifacts.put(key, b"\x89PNG", content_type="image/png")
    store.event_log.append(
        run_id,
        [
            d(
                ev.ArtifactStored(
                    artifact_id=artifact_id,
                    artifact_type=ArtifactType.SCREENSHOT_LLM,
                    uri=uri,
                    content_type="image/png",
                    file_size=4,
                )
            )
        ],
    )
    signed = next(
        a.signed_url for a in served.client().get_run_artifacts(run_id) if a.artifact_id == artifact_id
    )
    assert signed is not None
    (store.settings.artifacts_dir / key).unlink()
    for response in (
        httpx.get(signed),
        httpx.get(f"{served.base_url}/v1/artifacts/{artifact_id}/content", headers={"x-api-key": served.key}),
    ):
        assert response.status_code == 404
        assert response.json() == {"detail": f"The content of artifact {artifact_id} is no longer stored."}
