"""/v1/version and /v1/organizations/me: what is serving, and whose key is calling."""

from __future__ import annotations

from aws_lambda_powertools.event_handler.api_gateway import Router

import altostratus
from altostratus.api.auth import caller
from altostratus.api.errors import ForbiddenError
from altostratus.api.openapi import AUTH_ERRORS, responses
from altostratus.api.services import ApiServices
from altostratus.wire.render import wire_time
from altostratus.wire.responses import OrganizationInfo, ServerVersion


def server_router(services: ApiServices) -> Router:
    router = Router()

    @router.get(
        "/v1/version",
        summary="The server's version",
        tags=["server"],
        operation_id="get_version",
        responses=responses("The version of the package serving this API."),
        security=[{}],
    )
    def get_version() -> ServerVersion:
        return ServerVersion(version=altostratus.__version__)

    @router.get(
        "/v1/organizations/me",
        summary="The calling key's organization",
        tags=["server"],
        operation_id="get_current_organization",
        responses=responses("The organization the API key belongs to.", *AUTH_ERRORS),
    )
    def get_current_organization() -> OrganizationInfo:
        org_id = caller(router).org_id
        org = services.keys.get_org(org_id)
        if org is None:
            # The key outlived its organization's record: it no longer names a caller.
            raise ForbiddenError("Invalid credentials")
        created = wire_time(org.created_at) or ""
        return OrganizationInfo(
            organization_id=org.org_id, organization_name=org.name, created_at=created, modified_at=created
        )

    return router
