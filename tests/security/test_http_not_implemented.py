"""Every route the official SDK (skyvern 1.0.56) can call is either served or answers 501 with
`{"detail": "<route> is not implemented by this deployment"}` (never a bare 404), and each is in
/openapi.json under the SDK's method name.

The SDK's routes are read from the installed SDK's own source, so a route missing from both the
server and its 501 table fails here.
"""

from __future__ import annotations

import ast
import inspect
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest
import skyvern.client
from skyvern.client import Skyvern as SkyvernClient
from skyvern.client.core.api_error import ApiError

from altostratus.api.routes.not_implemented import NOT_IMPLEMENTED, VERB_GROUPS
from tests.support.server import RunningServer, alto, alto_serve


@dataclass(frozen=True)
class SdkRoute:
    method: str
    path: str  # OpenAPI template, e.g. /v1/runs/{run_id}
    name: str  # the SDK's method name
    group: str | None  # its sub-client (`client.<group>.<name>`), None at the top level


def _template(node: ast.expr) -> str:
    if isinstance(node, ast.Constant):
        return str(node.value)
    assert isinstance(node, ast.JoinedStr), ast.dump(node)
    parts = []
    for value in node.values:
        if isinstance(value, ast.Constant):
            parts.append(str(value.value))
        else:
            # f"v1/runs/{jsonable_encoder(run_id)}": the parameter's name
            assert isinstance(value, ast.FormattedValue) and isinstance(value.value, ast.Call)
            argument = value.value.args[0]
            assert isinstance(argument, ast.Name)
            parts.append("{" + argument.id + "}")
    return "".join(parts)


def sdk_routes() -> set[SdkRoute]:
    """(method, path, method name) of every request the synchronous SDK client sends."""
    root = Path(inspect.getfile(skyvern.client)).parent
    found = set()
    for source in root.rglob("raw_client.py"):
        group = None if source.parent == root else source.parent.name
        for cls in ast.parse(source.read_text()).body:
            if not isinstance(cls, ast.ClassDef) or cls.name.startswith("Async"):
                continue
            for fn in cls.body:
                if not isinstance(fn, ast.FunctionDef):
                    continue
                for node in ast.walk(fn):
                    if (
                        isinstance(node, ast.Call)
                        and isinstance(node.func, ast.Attribute)
                        and node.func.attr == "request"
                        and node.args
                    ):
                        method = next(k.value for k in node.keywords if k.arg == "method")
                        assert isinstance(method, ast.Constant)
                        path = "/" + _template(node.args[0])
                        found.add(SdkRoute(str(method.value), path, fn.name, group))
    return found


@dataclass
class Served:
    server: RunningServer
    key: str
    spec: dict[str, Any]


@pytest.fixture(scope="module")
def served(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Served]:
    data_dir = tmp_path_factory.mktemp("alto-not-implemented")
    key = alto("keys", "create", "--org", "sdk-routes", data_dir=data_dir).strip()
    with alto_serve(data_dir, api_only=True) as server:
        spec = httpx.get(f"{server.base_url}/openapi.json").json()
        yield Served(server=server, key=key, spec=spec)


def _example_path(template: str) -> str:
    return "/".join(f"x_{part[1:-1]}" if part.startswith("{") else part for part in template.split("/"))


def test_the_sdk_is_read_whole() -> None:
    routes = sdk_routes()
    # A sanity bound on the parser: the 1.0.56 SDK sends 85 distinct requests.
    assert len(routes) == 85
    names = {(r.group, r.name) for r in routes}
    assert {(None, "run_task"), (None, "create_browser_session"), ("schedules", "list_all")} <= names


def test_every_sdk_route_is_served_or_documented_as_not_implemented(served: Served) -> None:
    paths = served.spec["paths"]
    table = {(row.method, row.path): row for row in NOT_IMPLEMENTED}
    missing, wrong = [], []
    for route in sorted(sdk_routes(), key=lambda r: (r.path, r.method)):
        op = paths.get(route.path, {}).get(route.method.lower())
        if op is None:
            missing.append(f"{route.method} {route.path}")
            continue
        expected_id = f"{route.group}_{route.name}" if route.group in VERB_GROUPS else route.name
        if op["operationId"] != expected_id:
            wrong.append(f"{route.method} {route.path}: {op['operationId']} != {expected_id}")
        if (route.method, route.path) in table:
            assert set(op["responses"]) >= {"403", "501"} and "200" not in op["responses"], route
            assert op["responses"]["501"]["content"]["application/json"]["schema"] == {
                "$ref": "#/components/schemas/ErrorBody"
            }
            assert op["x-fern-sdk-method-name"] == route.name
            assert op.get("x-fern-sdk-group-name") == route.group
        else:
            served = [status for status in op["responses"] if status.startswith("2")]
            assert served and "501" not in op["responses"], route
    assert missing == [] and wrong == []
    # ... and the table holds nothing the SDK does not call.
    sdk = {(r.method, r.path) for r in sdk_routes()}
    assert set(table) <= sdk


def test_each_not_implemented_route_answers_501_with_its_name(served: Served) -> None:
    headers = {"x-api-key": served.key}
    with httpx.Client(base_url=served.server.base_url, headers=headers, timeout=10) as client:
        for row in NOT_IMPLEMENTED:
            body = {} if row.method in {"POST", "PUT", "PATCH"} else None
            reply = client.request(row.method, _example_path(row.path), json=body)
            assert reply.status_code == 501, (row.route, reply.status_code, reply.text)
            assert reply.json() == {"detail": f"{row.route} is not implemented by this deployment"}
            assert reply.headers["content-type"].startswith("application/json")


def test_the_key_is_checked_before_saying_not_implemented(served: Served) -> None:
    reply = httpx.post(f"{served.server.base_url}/v1/browser_sessions", json={})
    assert reply.status_code == 403 and reply.json() == {"detail": "Invalid credentials"}


def test_the_official_sdk_surfaces_the_501_and_its_reason(served: Served) -> None:
    client = SkyvernClient(base_url=served.server.base_url, api_key=served.key, timeout=10)
    calls = {
        "PATCH /v1/browser_sessions/{browser_session_id}": lambda: client.update_browser_session(
            "pbs_1", generate_browser_profile=True
        ),
        "GET /v1/agents/{workflow_permanent_id}/versions": lambda: client.get_workflow_versions("wpid_1"),
        "GET /v1/agents/runs": lambda: client.get_workflow_runs(),
        "GET /v1/browser_profiles": lambda: client.list_browser_profiles(),
        "GET /v1/schedules": lambda: client.schedules.list_all(),
        "POST /v1/agents/{workflow_id}/delete": lambda: client.delete_workflow("wpid_1"),
    }
    for route, call in calls.items():
        with pytest.raises(ApiError) as raised:
            call()
        assert raised.value.status_code == 501, route
        assert raised.value.body == {"detail": f"{route} is not implemented by this deployment"}
    # The SDK's served routes still work beside them.
    assert client.get_version()["version"]
