"""Routes of Skyvern's v1 API that the official SDK (skyvern 1.0.56) calls and this deployment
does not serve: each answers 501 `{"detail": "<METHOD> <path> is not implemented by this
deployment"}` instead of a bare 404, so a caller learns the route exists but is not here, and
each is in /openapi.json under the SDK's method name with that 501.

The table is the single list to shrink: when a route is implemented, delete its row here and
register the real handler in its own router. Rows are grouped by area.
"""

from __future__ import annotations

import inspect
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from aws_lambda_powertools.event_handler.api_gateway import Router

from altostratus.api.errors import HttpError
from altostratus.api.openapi import AUTH_ERRORS, BODY_ERRORS, responses

_METHODS_WITH_BODY = frozenset({"POST", "PUT", "PATCH", "DELETE"})
# Sub-clients whose method names are bare verbs (`client.schedules.list`): their operation ids
# carry the group too, so an id says what it acts on. The others are the method name alone.
VERB_GROUPS = frozenset({"schedules"})


@dataclass(frozen=True)
class Unimplemented:
    method: str
    # OpenAPI template: `{name}` for a path parameter.
    path: str
    # The SDK's method name (also the operation id).
    sdk_method: str
    area: str
    # The SDK's sub-client holding the method (`client.<group>.<method>`), if not the top level.
    group: str | None = None

    @property
    def operation_id(self) -> str:
        return f"{self.group}_{self.sdk_method}" if self.group in VERB_GROUPS else self.sdk_method

    @property
    def route(self) -> str:
        return f"{self.method} {self.path}"

    @property
    def detail(self) -> str:
        return f"{self.route} is not implemented by this deployment"


def _rows(area: str, *rows: tuple[str, str, str], group: str | None = None) -> tuple[Unimplemented, ...]:
    return tuple(Unimplemented(m, p, name, area, group) for m, p, name in rows)


NOT_IMPLEMENTED: tuple[Unimplemented, ...] = (
    *_rows(
        "runs",
        ("POST", "/v1/runs/cancel", "bulk_cancel_runs"),
        ("POST", "/v1/run/tasks/download_files", "download_files"),
        ("POST", "/v1/sdk/run_action", "run_sdk_action"),
        ("POST", "/v1/upload_file", "upload_file"),
    ),
    *_rows(
        "workflows",
        ("POST", "/v1/agents", "create_workflow"),
        ("POST", "/v1/agents/{workflow_id}", "update_workflow"),
        ("POST", "/v1/agents/{workflow_id}/delete", "delete_workflow"),
        ("GET", "/v1/agents/{workflow_permanent_id}/versions", "get_workflow_versions"),
        ("PUT", "/v1/agents/{workflow_permanent_id}/folder", "update_workflow_folder"),
        ("GET", "/v1/agents/runs", "get_workflow_runs"),
        ("GET", "/v1/agents/{workflow_id}/runs", "get_workflow_runs_by_id"),
        ("POST", "/v1/agents/runs/{workflow_run_id}/retry", "retry_workflow_run"),
    ),
    *_rows(
        "workflows",
        (
            "POST",
            "/v1/agents/{workflow_permanent_id}/browser_session/reset_profile",
            "reset_workflow_browser_profile",
        ),
        group="agents",
    ),
    *_rows(
        "schedules",
        ("GET", "/v1/schedules", "list_all"),
        ("GET", "/v1/agents/{workflow_permanent_id}/schedules", "list"),
        ("POST", "/v1/agents/{workflow_permanent_id}/schedules", "create"),
        ("GET", "/v1/agents/{workflow_permanent_id}/schedules/{workflow_schedule_id}", "get"),
        ("PUT", "/v1/agents/{workflow_permanent_id}/schedules/{workflow_schedule_id}", "update"),
        ("DELETE", "/v1/agents/{workflow_permanent_id}/schedules/{workflow_schedule_id}", "delete"),
        ("POST", "/v1/agents/{workflow_permanent_id}/schedules/{workflow_schedule_id}/enable", "enable"),
        ("POST", "/v1/agents/{workflow_permanent_id}/schedules/{workflow_schedule_id}/disable", "disable"),
        ("POST", "/v1/agents/{workflow_permanent_id}/schedules/{workflow_schedule_id}/cancel", "cancel"),
        group="schedules",
    ),
    # The SDK's update sends only `generate_browser_profile`, read when the session ends to save
    # its browser as a `bp_` profile; this deployment has no browser profiles, so accepting it
    # would change nothing a caller could see.
    *_rows(
        "browser sessions",
        ("PATCH", "/v1/browser_sessions/{browser_session_id}", "update_browser_session"),
    ),
    *_rows(
        "browser profiles",
        ("GET", "/v1/browser_profiles", "list_browser_profiles"),
        ("POST", "/v1/browser_profiles", "create_browser_profile"),
        ("GET", "/v1/browser_profiles/{profile_id}", "get_browser_profile"),
        ("PATCH", "/v1/browser_profiles/{profile_id}", "update_browser_profile"),
        ("DELETE", "/v1/browser_profiles/{profile_id}", "delete_browser_profile"),
    ),
    *_rows(
        "folders",
        ("GET", "/v1/folders", "get_folders"),
        ("POST", "/v1/folders", "create_folder"),
        ("GET", "/v1/folders/{folder_id}", "get_folder"),
        ("PUT", "/v1/folders/{folder_id}", "update_folder"),
        ("DELETE", "/v1/folders/{folder_id}", "delete_folder"),
    ),
    *_rows(
        "tags",
        ("GET", "/v1/runs/{workflow_run_id}/tags", "get_run_tags"),
        ("POST", "/v1/runs/{workflow_run_id}/tags", "apply_run_tags"),
        ("DELETE", "/v1/runs/{workflow_run_id}/tags/{key}", "delete_run_tag"),
        ("GET", "/v1/runs/{workflow_run_id}/tags/history", "get_run_tag_history"),
        ("GET", "/v1/agents/{workflow_permanent_id}/tags", "get_workflow_tags"),
        ("POST", "/v1/agents/{workflow_permanent_id}/tags", "apply_workflow_tags"),
        ("DELETE", "/v1/agents/{workflow_permanent_id}/tags/{key}", "delete_workflow_tag"),
        ("GET", "/v1/agents/{workflow_permanent_id}/tags/history", "get_workflow_tag_history"),
        ("GET", "/v1/tag-keys", "list_tag_keys"),
        ("PATCH", "/v1/tag-keys/{key}", "update_tag_key"),
        ("DELETE", "/v1/tag-keys/{key}", "delete_tag_key"),
        ("GET", "/v1/tag-values", "list_tag_values"),
        ("PATCH", "/v1/tag-values/{key}", "update_tag_value"),
        ("DELETE", "/v1/tag-values/{key}", "delete_tag_value"),
        ("PATCH", "/v1/tag-values/{key}/rename", "rename_tag_value"),
        ("GET", "/v1/workflow-tags", "batch_get_workflow_tags"),
        ("POST", "/v1/workflow-tags", "batch_get_workflow_tags_post"),
        ("GET", "/v1/run-tags", "batch_get_run_tags"),
        ("POST", "/v1/run-tags", "batch_get_run_tags_post"),
    ),
    *_rows(
        "custom models",
        ("GET", "/v1/custom-llms", "list_custom_llms"),
        ("POST", "/v1/custom-llms", "create_custom_llm"),
        ("PUT", "/v1/custom-llms/{custom_llm_id}", "update_custom_llm"),
        ("DELETE", "/v1/custom-llms/{custom_llm_id}", "delete_custom_llm"),
    ),
)


class NotImplementedByDeploymentError(HttpError):
    status = 501


def _resolver_path(template: str) -> str:
    """`/v1/x/{id}` as the resolver writes it: `/v1/x/<id>`."""
    return template.replace("{", "<").replace("}", ">")


def _path_params(template: str) -> list[str]:
    return [part[1:-1] for part in template.split("/") if part.startswith("{")]


def _handler(row: Unimplemented) -> Callable[..., None]:
    def refuse(**_: str) -> None:
        raise NotImplementedByDeploymentError(row.detail)

    # Request validation reads the handler's signature: one string argument per path parameter.
    params = [
        inspect.Parameter(name, inspect.Parameter.KEYWORD_ONLY, annotation=str)
        for name in _path_params(row.path)
    ]
    refuse.__signature__ = inspect.Signature(params, return_annotation=None)  # type: ignore[attr-defined]
    refuse.__name__ = row.operation_id
    return refuse


def _responses(row: Unimplemented) -> dict[int, Any]:
    errors = (*AUTH_ERRORS, *BODY_ERRORS) if row.method in _METHODS_WITH_BODY else AUTH_ERRORS
    documented = responses("", *errors, 501, overrides={501: row.detail + "."})
    del documented[200]  # it never succeeds here
    return documented


def not_implemented_router() -> Router:
    router = Router()
    for row in NOT_IMPLEMENTED:
        extensions: dict[str, Any] = {"x-fern-sdk-method-name": row.sdk_method}
        if row.group:
            extensions["x-fern-sdk-group-name"] = row.group
        router.route(
            _resolver_path(row.path),
            row.method,
            summary=f"Not implemented by this deployment ({row.area})",
            description=(
                f"Skyvern's `{row.sdk_method}`. This deployment does not serve it yet: every call "
                "answers 501."
            ),
            tags=["not implemented"],
            operation_id=row.operation_id,
            responses=_responses(row),
            openapi_extensions=extensions,
        )(_handler(row))
    return router
