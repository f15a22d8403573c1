"""The AWS artifact store: S3 objects, presigned GET links."""

from __future__ import annotations

from typing import Any

from botocore.exceptions import BotoCoreError, ClientError

from altostratus.domain.artifacts import renders_inline
from altostratus.ports.artifacts import DEFAULT_URL_TTL_S
from altostratus.ports.errors import ItemNotStoredError, StoreUnavailableError

S3Client = Any  # boto3 ships no type hints


class S3ArtifactStore:
    def __init__(self, client: S3Client, *, bucket: str, prefix: str = "") -> None:
        self._s3 = client
        self._bucket = bucket
        # Every key is stored under it (URIs carry the full key, so reads need no prefix).
        self._prefix = prefix

    def put(self, key: str, data: bytes, *, content_type: str) -> str:
        key = self._prefix + key
        extra: dict[str, str] = {}
        if not renders_inline(content_type):
            # Presigned links are opened in browsers: a scraped page or an SVG must arrive as a
            # download, never run on the bucket's origin.
            extra["ContentDisposition"] = "attachment"
        try:
            self._s3.put_object(Bucket=self._bucket, Key=key, Body=data, ContentType=content_type, **extra)
        except (ClientError, BotoCoreError) as exc:
            raise StoreUnavailableError(f"S3 put failed: {type(exc).__name__}") from exc
        return f"s3://{self._bucket}/{key}"

    def get(self, uri: str) -> bytes:
        bucket, key = self._split(uri)
        try:
            body: bytes = self._s3.get_object(Bucket=bucket, Key=key)["Body"].read()
        except ClientError as exc:
            if exc.response.get("Error", {}).get("Code") in {"NoSuchKey", "404", "NotFound"}:
                raise ItemNotStoredError(f"no artifact stored at {uri}") from exc
            raise StoreUnavailableError(f"S3 get failed: {type(exc).__name__}") from exc
        except BotoCoreError as exc:
            raise StoreUnavailableError(f"S3 get failed: {type(exc).__name__}") from exc
        return body

    def signed_url(self, uri: str, *, artifact_id: str, expires_in: int = DEFAULT_URL_TTL_S) -> str:
        bucket, key = self._split(uri)
        url: str = self._s3.generate_presigned_url(
            "get_object", Params={"Bucket": bucket, "Key": key}, ExpiresIn=expires_in
        )
        return url

    @staticmethod
    def _split(uri: str) -> tuple[str, str]:
        if not uri.startswith("s3://"):
            raise ItemNotStoredError(f"not an S3 artifact: {uri}")
        bucket, _, key = uri[len("s3://") :].partition("/")
        return bucket, key
