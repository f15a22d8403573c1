"""The API application: one resolver, the routers, the error table, the OpenAPI document.

The same object serves API Gateway HTTP API events in `functions/api` and the embedded server.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

from aws_lambda_powertools.event_handler import Response, content_types
from aws_lambda_powertools.event_handler.middlewares import NextMiddleware

import altostratus
from altostratus.api.auth import make_preflight
from altostratus.api.errors import register_error_handlers
from altostratus.api.openapi import AUTHENTICATED, SECURITY_SCHEMES, without_impossible_422
from altostratus.api.request_body import check_json_body
from altostratus.api.resolver import AltoResolver, chain
from altostratus.api.routes.artifacts import artifacts_router
from altostratus.api.routes.credentials import credentials_router
from altostratus.api.routes.not_implemented import not_implemented_router
from altostratus.api.routes.runs import runs_router
from altostratus.api.routes.server import server_router
from altostratus.api.routes.sessions import sessions_router
from altostratus.api.routes.vault import vault_router
from altostratus.api.routes.workflows import workflows_router
from altostratus.api.services import ApiServices
from altostratus.api.viewer.routes import viewer_router
from altostratus.api.viewer.session import Sessions

TITLE = "Altostratus API"
DESCRIPTION = (
    "Skyvern v1-compatible API for AI browser automation runs. Authenticate with the `x-api-key` header."
)
# The Swagger page is ours (Powertools inlines its script and styles); it may run them and call
# this API, and nothing else.
DOCS_CSP = (
    "default-src 'none'; script-src 'unsafe-inline'; style-src 'unsafe-inline'; img-src 'self' data:; "
    "connect-src 'self'; frame-ancestors 'none'; base-uri 'none'; form-action 'none'"
)


def _body_check(event: Mapping[str, Any], app: AltoResolver) -> dict[str, Any] | None:
    check_json_body(event)  # raises the 4xx, answered by the error table
    return None


def _docs_policy(app: AltoResolver, next_middleware: NextMiddleware) -> Response[Any]:
    response: Response[Any] = next_middleware(app)
    response.headers["Content-Security-Policy"] = DOCS_CSP
    return response


def build_api(services: ApiServices) -> AltoResolver:
    sessions = Sessions(services.secret_box, services.keys, services.clock)
    app = AltoResolver(
        # The key first: a caller without one learns nothing about what its body would do.
        preflight=chain(make_preflight(services, sessions), _body_check),
        enable_validation=True,
        strip_prefixes=list(services.config.strip_prefixes) or None,
    )
    register_error_handlers(app)
    app.include_router(runs_router(services))
    app.include_router(artifacts_router(services))
    app.include_router(sessions_router(services))
    app.include_router(workflows_router(services))
    app.include_router(credentials_router(services))
    app.include_router(vault_router(services))
    app.include_router(server_router(services))
    app.include_router(viewer_router(services, sessions))
    app.include_router(not_implemented_router())
    app.configure_openapi(
        title=TITLE,
        version=altostratus.__version__,
        description=DESCRIPTION,
        security_schemes=SECURITY_SCHEMES,
        security=AUTHENTICATED,
    )
    app.enable_swagger(path="/docs", middlewares=[_docs_policy])

    @app.get("/openapi.json", include_in_schema=False)
    def openapi() -> Response[str]:
        body = json.dumps(without_impossible_422(json.loads(app.get_openapi_json_schema())))
        return Response(status_code=200, content_type=content_types.APPLICATION_JSON, body=body)

    @app.get("/health", include_in_schema=False)
    def health() -> dict[str, Any]:
        return {"status": "ok", "version": altostratus.__version__}

    return app
