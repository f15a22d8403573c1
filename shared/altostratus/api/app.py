"""The API application: one resolver, the routers, the error table, the OpenAPI document.

The same object serves API Gateway HTTP API events in `functions/api` and the embedded server.
"""

from __future__ import annotations

from typing import Any

from aws_lambda_powertools.event_handler import Response, content_types

import altostratus
from altostratus.api.auth import make_preflight
from altostratus.api.errors import register_error_handlers
from altostratus.api.resolver import AltoResolver
from altostratus.api.routes.artifacts import artifacts_router
from altostratus.api.routes.runs import runs_router
from altostratus.api.services import ApiServices

TITLE = "Altostratus API"
DESCRIPTION = (
    "Skyvern v1-compatible API for AI browser automation runs. Authenticate with the `x-api-key` header."
)


def build_api(services: ApiServices) -> AltoResolver:
    app = AltoResolver(
        preflight=make_preflight(services),
        enable_validation=True,
        strip_prefixes=list(services.config.strip_prefixes) or None,
    )
    register_error_handlers(app)
    app.include_router(runs_router(services))
    app.include_router(artifacts_router(services))
    app.enable_swagger(path="/docs", title=TITLE, version=altostratus.__version__, description=DESCRIPTION)

    @app.get("/openapi.json", include_in_schema=False)
    def openapi() -> Response[str]:
        body = app.get_openapi_json_schema(
            title=TITLE, version=altostratus.__version__, description=DESCRIPTION
        )
        return Response(status_code=200, content_type=content_types.APPLICATION_JSON, body=body)

    @app.get("/health", include_in_schema=False)
    def health() -> dict[str, Any]:
        return {"status": "ok", "version": altostratus.__version__}

    return app
