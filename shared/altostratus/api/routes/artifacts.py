"""/v1/artifacts/...: one artifact's record and its bytes."""

from __future__ import annotations

from typing import Annotated, Any

from aws_lambda_powertools.event_handler import Response
from aws_lambda_powertools.event_handler.api_gateway import Router
from aws_lambda_powertools.event_handler.openapi.params import Query

from altostratus.api.auth import caller
from altostratus.api.errors import ForbiddenError, NotFoundError
from altostratus.api.render import artifact_response
from altostratus.api.services import ApiServices
from altostratus.domain.artifacts import ArtifactRecord

# Lambda responses stop at 6 MB; bigger files are handed over as a signed link.
_MAX_INLINE_BYTES = 5 * 1024 * 1024


def artifacts_router(services: ApiServices) -> Router:
    router = Router()

    def own_artifact(artifact_id: str) -> ArtifactRecord:
        record = services.event_log.get_artifact(artifact_id)
        if record is None or record.org_id != caller(router).org_id:
            raise NotFoundError(f"Artifact not found {artifact_id}")
        return record

    @router.get("/v1/artifacts/<artifact_id>", summary="Get an artifact", tags=["artifacts"])
    def get_artifact(artifact_id: str) -> dict[str, Any]:
        return artifact_response(own_artifact(artifact_id), services.artifacts)

    @router.get("/v1/artifacts/<artifact_id>/content", summary="An artifact's bytes", tags=["artifacts"])
    def get_artifact_content(
        artifact_id: str,
        expires: Annotated[int | None, Query()] = None,
        signature: Annotated[str | None, Query()] = None,
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
        if (
            record.file_size is not None
            and record.file_size > _MAX_INLINE_BYTES
            and services.link_verifier is None
        ):
            link = services.artifacts.signed_url(record.uri, artifact_id=artifact_id)
            return Response(status_code=302, headers={"Location": link}, body=b"")
        data = services.artifacts.get(record.uri)
        headers = {"Content-Length": str(len(data))}
        if record.filename:
            headers["Content-Disposition"] = f'inline; filename="{record.filename}"'
        return Response(
            status_code=200,
            content_type=record.content_type or "application/octet-stream",
            body=data,
            headers=headers,
        )

    return router
