"""The artifact-store contract, run against the file store and S3 (moto)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

import boto3
import pytest
import requests
from moto import mock_aws

from altostratus.adapters.file_artifacts import FileArtifactStore
from altostratus.adapters.s3_artifacts import S3ArtifactStore
from altostratus.ports.artifacts import ArtifactStore
from altostratus.ports.errors import ItemNotStoredError


class _Clock:
    t = 1_800_000_000.0

    def __call__(self) -> float:
        return self.t


@pytest.fixture(params=["file", "s3"])
def store(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[tuple[str, ArtifactStore, Any]]:
    if request.param == "file":
        clock = _Clock()
        yield (
            "file",
            FileArtifactStore(
                tmp_path / "artifacts",
                public_base_url="http://127.0.0.1:9",
                signing_secret=b"s",
                now=clock,
            ),
            clock,
        )
    else:
        with mock_aws():
            s3 = boto3.client("s3", region_name="us-east-1")
            s3.create_bucket(Bucket="alto-artifacts")
            yield "s3", S3ArtifactStore(s3, bucket="alto-artifacts"), None


def test_put_then_get_returns_the_same_bytes(store: tuple[str, ArtifactStore, Any]) -> None:
    _, artifacts, _ = store
    uri = artifacts.put("o_1/tsk_1/a_1.png", b"\x89PNG...", content_type="image/png")
    assert artifacts.get(uri) == b"\x89PNG..."


def test_get_of_nothing_is_not_found(store: tuple[str, ArtifactStore, Any]) -> None:
    _, artifacts, _ = store
    uri = artifacts.put("o_1/tsk_1/a_1.txt", b"x", content_type="text/plain")
    missing = uri.replace("a_1.txt", "a_2.txt")
    with pytest.raises(ItemNotStoredError):
        artifacts.get(missing)


def test_signed_url_serves_the_bytes_until_it_expires(store: tuple[str, ArtifactStore, Any]) -> None:
    kind, artifacts, clock = store
    uri = artifacts.put("o_1/tsk_1/a_1.html", b"<html>hi</html>", content_type="text/html")
    url = artifacts.signed_url(uri, artifact_id="a_1", expires_in=60)
    if kind == "s3":
        response = requests.get(url, timeout=5)
        assert response.status_code == 200 and response.content == b"<html>hi</html>"
        assert "Expires=" in url or "X-Amz-Expires=60" in url
        return
    assert isinstance(artifacts, FileArtifactStore)
    query = parse_qs(urlsplit(url).query)
    expires, signature = int(query["expires"][0]), query["signature"][0]
    assert urlsplit(url).path == "/v1/artifacts/a_1/content"
    assert artifacts.verify("a_1", expires, signature)
    assert not artifacts.verify("a_2", expires, signature)  # a link is for one artifact only
    clock.t += 61
    assert not artifacts.verify("a_1", expires, signature)


def test_file_keys_cannot_escape_the_store(tmp_path: Path) -> None:
    artifacts = FileArtifactStore(tmp_path / "a", public_base_url="http://x", signing_secret=b"s")
    with pytest.raises(ValueError, match="escapes"):
        artifacts.put("../../etc/passwd", b"x", content_type="text/plain")
    with pytest.raises(ItemNotStoredError):
        artifacts.get("local://../../etc/passwd")
