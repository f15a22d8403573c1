"""/v1/artifacts/...: one artifact's record and its bytes."""

from __future__ import annotations

from typing import Annotated, Any

from aws_lambda_powertools.event_handler import Response
from aws_lambda_powertools.event_handler.api_gateway import Router
from aws_lambda_powertools.event_handler.openapi.params import Header, Query
from aws_lambda_powertools.event_handler.openapi.types import (
    OpenAPIResponseContentModel,
    OpenAPIResponseContentSchema,
)

from altostratus.api.artifact_content import Conditions, content_response
from altostratus.api.auth import caller
from altostratus.api.errors import ForbiddenError, NotFoundError
from altostratus.api.openapi import AUTH_ERRORS, KEY_OR_SIGNED_LINK, responses
from altostratus.api.services import ApiServices
from altostratus.domain.artifacts import ArtifactRecord
from altostratus.ports.errors import ItemNotStoredError
from altostratus.wire.render import artifact_response
from altostratus.wire.responses import Artifact

# A Lambda response stops at 6 MB and its body is base64 (4/3 the size): bigger files are
# handed over as a signed link to the store instead.
_MAX_INLINE_BYTES = 4 * 1024 * 1024

_BYTES: dict[str, OpenAPIResponseContentSchema | OpenAPIResponseContentModel] = {
    "*/*": {"schema": {"type": "string", "format": "binary"}}
}
_CONTENT_RESPONSES = responses(
    "The artifact's bytes, with its own media type. Images and video are shown inline; anything "
    "else (HTML, SVG, PDF, text, ...) is a sandboxed download.",
    *AUTH_ERRORS,
    404,
    416,
    422,
    overrides={403: "The API key is missing or unknown, or the signed link is invalid or has expired."},
)
_CONTENT_RESPONSES[200]["content"] = _BYTES
_CONTENT_RESPONSES[206] = {
    "description": "The requested byte range (Content-Range says which).",
    "content": _BYTES,
}
_CONTENT_RESPONSES[302] = {
    "description": "A file too large to answer directly (on AWS): Location is a signed link to it.",
    "headers": {"Location": {"schema": {"type": "string"}}},
}
_CONTENT_RESPONSES[304] = {"description": "Not modified: the ETag in If-None-Match still matches."}


def artifacts_router(services: ApiServices) -> Router:
    router = Router()

    def own_artifact(artifact_id: str) -> ArtifactRecord:
        record = services.event_log.get_artifact(artifact_id)
        if record is None or record.org_id != caller(router).org_id:
            raise NotFoundError(f"Artifact not found {artifact_id}")
        return record

    def large_link(record: ArtifactRecord) -> str | None:
        if services.large_content_link is not None:
            return services.large_content_link(record.uri, record.artifact_id)
        if services.link_verifier is None:
            return services.artifacts.signed_url(record.uri, artifact_id=record.artifact_id)
        return None

    @router.get(
        "/v1/artifacts/<artifact_id>",
        summary="Get an artifact",
        tags=["artifacts"],
        operation_id="get_artifact",
        responses=responses("The artifact, with an expiring `signed_url` to its bytes.", *AUTH_ERRORS, 404),
    )
    def get_artifact(artifact_id: str) -> Artifact:
        return Artifact.model_validate(artifact_response(own_artifact(artifact_id), services.artifacts))

    @router.get(
        "/v1/artifacts/<artifact_id>/content",
        summary="An artifact's bytes",
        description=(
            "Authenticate with a key, or use the artifact's `signed_url` (`expires` and `signature`), "
            "which needs none. Supports `Range` (one range), `If-None-Match` and `If-Range`."
        ),
        tags=["artifacts"],
        operation_id="get_artifact_content",
        security=KEY_OR_SIGNED_LINK,
        responses=_CONTENT_RESPONSES,
    )
    def get_artifact_content(
        artifact_id: str,
        expires: Annotated[int | None, Query(description="Expiry of a signed link (unix seconds).")] = None,
        signature: Annotated[str | None, Query(description="Signature of a signed link.")] = None,
        range_: Annotated[str | None, Header(alias="range", description="e.g. bytes=0-1023")] = None,
        if_none_match: Annotated[str | None, Header(alias="if-none-match")] = None,
        if_range: Annotated[str | None, Header(alias="if-range")] = None,
    ) -> Response[bytes]:
        if signature is not None:
            # A signed link works without a key, for exactly one artifact, until it expires.
            verifier = services.link_verifier
            if verifier is None or expires is None or not verifier(artifact_id, expires, signature):
                raise ForbiddenError("This artifact link is invalid or has expired.")
            record = services.event_log.get_artifact(artifact_id)
            if record is None:
                raise NotFoundError(f"Artifact not found {artifact_id}")
        else:
            record = own_artifact(artifact_id)
        if record.file_size is not None and record.file_size > _MAX_INLINE_BYTES:
            elsewhere = large_link(record)
            if elsewhere is not None:
                return _redirect(elsewhere)
        try:
            data = services.artifacts.get(record.uri)
        except ItemNotStoredError:
            raise NotFoundError(f"The content of artifact {artifact_id} is no longer stored.") from None
        if len(data) > _MAX_INLINE_BYTES and (elsewhere := large_link(record)) is not None:
            return _redirect(elsewhere)
        return content_response(
            data,
            content_type=record.content_type,
            filename=record.filename,
            fallback_stem=artifact_id,
            conditions=Conditions(range=range_, if_none_match=if_none_match, if_range=if_range),
        )

    return router


def _redirect(link: str) -> Response[Any]:
    return Response(status_code=302, headers={"Location": link}, body=b"")
