"""The CLI's HTTP client for the v1 API (embedded or deployed)."""

from __future__ import annotations

from typing import Any

import httpx

TERMINAL = {"completed", "failed", "terminated", "timed_out", "canceled"}


class ApiCallError(Exception):
    """The API answered with an error; the message is its `detail`."""

    def __init__(self, status: int, detail: Any) -> None:
        super().__init__(f"HTTP {status}: {_detail_text(detail)}")
        self.status = status
        self.detail = detail


def _detail_text(detail: Any) -> str:
    if isinstance(detail, list):
        return "; ".join(f"{'.'.join(str(p) for p in e.get('loc', [])[1:])}: {e.get('msg')}" for e in detail)
    return str(detail)


class ApiClient:
    def __init__(self, base_url: str, api_key: str, *, timeout: float = 30.0) -> None:
        self._http = httpx.Client(
            base_url=base_url.rstrip("/"), headers={"x-api-key": api_key}, timeout=timeout
        )

    def close(self) -> None:
        self._http.close()

    def __enter__(self) -> ApiClient:
        return self

    def __exit__(self, *_: object) -> None:
        self.close()

    def _call(self, method: str, path: str, **kwargs: Any) -> Any:
        try:
            reply = self._http.request(method, path, **kwargs)
        except httpx.HTTPError as exc:
            raise ApiCallError(0, f"cannot reach {self._http.base_url}: {exc}") from exc
        body = reply.json() if reply.content else None
        if reply.status_code >= 400:
            detail = body.get("detail", body) if isinstance(body, dict) else body
            raise ApiCallError(reply.status_code, detail)
        return body

    def run_task(self, request: dict[str, Any]) -> dict[str, Any]:
        result: dict[str, Any] = self._call("POST", "/v1/run/tasks", json=request)
        return result

    def get_run(self, run_id: str) -> dict[str, Any]:
        result: dict[str, Any] = self._call("GET", f"/v1/runs/{run_id}")
        return result

    def list_runs(self, **query: Any) -> list[dict[str, Any]]:
        result: list[dict[str, Any]] = self._call(
            "GET", "/v1/runs", params={k: v for k, v in query.items() if v}
        )
        return result

    def timeline(self, run_id: str) -> list[dict[str, Any]]:
        result: list[dict[str, Any]] = self._call("GET", f"/v1/runs/{run_id}/timeline")
        return result

    def artifacts(self, run_id: str, types: list[str] | None = None) -> list[dict[str, Any]]:
        params = {"artifact_type": types} if types else None
        result: list[dict[str, Any]] = self._call("GET", f"/v1/runs/{run_id}/artifacts", params=params)
        return result

    def organization(self) -> dict[str, Any] | None:
        """The organization the key belongs to; None from a server that cannot say."""
        try:
            result: dict[str, Any] = self._call("GET", "/v1/organizations/me")
        except ApiCallError as exc:
            if exc.status in (404, 501):
                return None
            raise
        return result

    def cancel(self, run_id: str) -> None:
        self._call("POST", f"/v1/runs/{run_id}/cancel")

    def create_session(self, body: dict[str, Any]) -> dict[str, Any]:
        result: dict[str, Any] = self._call("POST", "/v1/browser_sessions", json=body)
        return result

    def list_sessions(self) -> list[dict[str, Any]]:
        result: list[dict[str, Any]] = self._call("GET", "/v1/browser_sessions")
        return result

    def get_session(self, session_id: str) -> dict[str, Any]:
        result: dict[str, Any] = self._call("GET", f"/v1/browser_sessions/{session_id}")
        return result

    def close_session(self, session_id: str) -> dict[str, Any]:
        result: dict[str, Any] = self._call("POST", f"/v1/browser_sessions/{session_id}/close")
        return result
