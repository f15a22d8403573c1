"""The viewer's session, in-process through the API resolver: what the cookie holds, what it
opens (the viewer's own calls, from its own origin, with the CSRF token) and what it never
opens; sign-in and sign-out; the pages' headers and redirects."""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass
from urllib.parse import parse_qsl, urlsplit

import pytest

from altostratus.api.gateway_event import http_api_event
from altostratus.runtimes.local import LocalRuntime, build_local
from altostratus.runtimes.settings import Settings
from tests.support.api_client import ApiClient, Reply
from tests.support.http_security import seed_run

HOST = "127.0.0.1:8000"


@dataclass
class Signed:
    cookies: list[str]  # Set-Cookie values
    cookie_header: str
    csrf: str


@dataclass
class Env:
    runtime: LocalRuntime
    client: ApiClient
    key: str

    def sign_in(
        self, key: str | None = None, headers: dict[str, str] | None = None
    ) -> tuple[int, Signed | None]:
        event = http_api_event(
            "POST",
            "/viewer/api/session",
            headers={"content-type": "application/json", "host": HOST, **(headers or {})},
            body=json.dumps({"api_key": key or self.key}),
        )
        out = self.runtime.api().resolve(event, None)
        cookies = [str(c) for c in out.get("cookies") or []]
        if out["statusCode"] != 200:
            return out["statusCode"], None
        pairs = [c.split(";")[0] for c in cookies]
        csrf = next(p.split("=", 1)[1] for p in pairs if p.split("=", 1)[0].endswith("alto_csrf"))
        return 200, Signed(cookies, "; ".join(pairs), csrf)

    def call(self, method: str, path: str, signed: Signed | None, **headers: str) -> Reply:
        sent = {"host": HOST, **headers}
        if signed is not None:
            sent["cookie"] = signed.cookie_header
        path, _, query = path.partition("?")
        return self.client.call(method, path, headers=sent, key=None, query=dict(parse_qsl(query)) or None)


@pytest.fixture(scope="module")
def env(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Env]:
    runtime = build_local(Settings(data_dir=tmp_path_factory.mktemp("alto-viewer-session")))
    try:
        key = runtime.ensure_dev_key()
        assert key is not None
        yield Env(runtime, ApiClient(runtime.api(), key), key)
    finally:
        runtime.close()


def _signed(env: Env) -> Signed:
    status, signed = env.sign_in()
    assert status == 200 and signed is not None
    return signed


def test_the_cookie_is_httponly_strict_and_holds_no_key(env: Env) -> None:
    signed = _signed(env)
    session = next(c for c in signed.cookies if c.startswith("alto_session="))
    assert "HttpOnly" in session and "SameSite=Strict" in session and "Path=/" in session
    csrf = next(c for c in signed.cookies if c.startswith("alto_csrf="))
    assert "HttpOnly" not in csrf and "SameSite=Strict" in csrf  # the page's script reads it
    assert all(env.key not in c for c in signed.cookies)
    assert env.key[-12:] not in signed.cookie_header


def test_over_https_the_cookies_are_secure_and_host_only(env: Env) -> None:
    status, signed = env.sign_in(headers={"x-forwarded-proto": "https"})
    assert status == 200 and signed is not None
    assert all(c.startswith("__Host-") and "Secure" in c for c in signed.cookies)
    mine = env.call(
        "GET", "/viewer/api/session", signed, **{"x-alto-csrf": signed.csrf, "x-forwarded-proto": "https"}
    )
    assert mine.status == 200
    # The same cookie over plain HTTP is not read: the names differ.
    assert env.call("GET", "/viewer/api/session", signed, **{"x-alto-csrf": signed.csrf}).status == 403


def test_a_viewer_call_needs_the_session_its_csrf_token_and_the_same_origin(env: Env) -> None:
    signed = _signed(env)
    csrf = {"x-alto-csrf": signed.csrf}
    assert env.call("GET", "/viewer/api/runs", signed, **csrf).status == 200
    assert (
        env.call("GET", "/viewer/api/runs", signed, **{"sec-fetch-site": "same-origin"}, **csrf).status == 200
    )
    assert env.call("GET", "/viewer/api/runs", signed).status == 403
    assert env.call("GET", "/viewer/api/runs", signed, **{"x-alto-csrf": "guess"}).status == 403
    assert env.call("GET", "/viewer/api/runs", None, **csrf).status == 403
    for refused in (
        {"sec-fetch-site": "cross-site"},
        {"sec-fetch-site": "same-site"},
        {"origin": "http://evil.test"},
    ):
        reply = env.call("POST", "/viewer/api/runs/tsk_1/cancel", signed, **refused, **csrf)
        assert reply.status == 403 and reply.json() == {"detail": "The viewer answers only its own pages."}
    # A token changed by one character is not a session.
    name, _, value = signed.cookie_header.split("; ")[0].partition("=")
    other = "y" if value[-3] == "x" else "x"  # a character it does not already have there
    tampered = f"{value[:-3]}{other}{value[-2:]}"
    forged = Signed(signed.cookies, f"{name}={tampered}; alto_csrf={signed.csrf}", signed.csrf)
    assert env.call("GET", "/viewer/api/runs", forged, **csrf).status == 403


def test_the_session_never_authorizes_the_api_itself(env: Env) -> None:
    signed = _signed(env)
    for path in ("/v1/runs", "/v1/runs/tsk_1", "/v1/artifacts/a_1/content"):
        reply = env.call("GET", path, signed, **{"x-alto-csrf": signed.csrf})
        assert reply.status == 403, path


def test_sign_in_refuses_a_wrong_key_bad_bodies_and_other_origins(env: Env) -> None:
    assert env.sign_in("alto_wrong")[0] == 403
    assert env.sign_in(headers={"origin": "http://evil.test"})[0] == 403
    assert env.sign_in(headers={"sec-fetch-site": "cross-site"})[0] == 403
    assert env.client.post("/viewer/api/session", raw="not json", key=None).status == 400
    assert env.client.post("/viewer/api/session", json_body={"api_key": ""}, key=None).status == 422
    assert env.client.post("/viewer/api/session", json_body=["x"], key=None).status == 422
    form = env.client.post(
        "/viewer/api/session",
        raw=f"api_key={env.key}",
        headers={"content-type": "application/x-www-form-urlencoded"},
        key=None,
    )
    assert form.status == 415  # a cross-site form cannot sign anyone in


def test_a_revoked_key_ends_its_sessions(env: Env) -> None:
    org = env.runtime.keys.org_by_name("default")
    assert org is not None
    record, raw = env.runtime.keys.create_key(org.org_id, label="short-lived")
    status, signed = env.sign_in(raw)
    assert status == 200 and signed is not None
    assert env.call("GET", "/viewer/api/session", signed, **{"x-alto-csrf": signed.csrf}).status == 200
    env.runtime.keys.revoke_key(record.key_id)
    assert env.call("GET", "/viewer/api/session", signed, **{"x-alto-csrf": signed.csrf}).status == 403
    assert env.call("GET", "/runs", signed).status == 302


def test_sign_out_clears_both_cookies(env: Env) -> None:
    signed = _signed(env)
    event = http_api_event(
        "DELETE",
        "/viewer/api/session",
        headers={"host": HOST, "cookie": signed.cookie_header, "x-alto-csrf": signed.csrf},
    )
    out = env.runtime.api().resolve(event, None)
    assert out["statusCode"] == 200
    cleared = [str(c) for c in out["cookies"]]
    assert sorted(c.split("=")[0] for c in cleared) == ["alto_csrf", "alto_session"]
    assert all("Max-Age=0" in c and c.split(";")[0].endswith("=") for c in cleared)


def test_pages_redirect_to_sign_in_and_run_only_their_own_assets(env: Env) -> None:
    root = env.call("GET", "/", None)
    assert root.status == 302 and root.headers["Location"] == "/runs"
    runs = env.call("GET", "/runs/tsk_123", None)
    assert runs.status == 302 and runs.headers["Location"] == "/signin?next=/runs/tsk_123"
    signed = _signed(env)
    page = env.call("GET", "/runs/tsk_123", signed)
    assert page.status == 200 and page.headers["Content-Type"].startswith("text/html")
    policy = page.headers["Content-Security-Policy"]
    assert "default-src 'none'" in policy and "script-src 'self'" in policy and "style-src 'self'" in policy
    assert "frame-ancestors 'none'" in policy and "unsafe" not in policy and "http" not in policy
    assert page.headers["X-Content-Type-Options"] == "nosniff"
    assert b"/viewer/static/viewer.js" in page.body and b"http" not in page.body.replace(b"http-equiv", b"")
    for name, media in (
        ("viewer.js", "text/javascript"),
        ("viewer.css", "text/css"),
        ("favicon.svg", "image/svg"),
    ):
        asset = env.call("GET", f"/viewer/static/{name}", None)
        assert asset.status == 200 and asset.headers["Content-Type"].startswith(media) and asset.body
    for missing in ("index.html", "..%2Froutes.py", "routes.py"):
        assert env.call("GET", f"/viewer/static/{missing}", None).status == 404


def test_another_organizations_run_is_not_found_and_bad_input_is_a_4xx(env: Env) -> None:
    other = env.runtime.keys.create_org("viewer-other")
    _, other_key = env.runtime.keys.create_key(other.org_id)
    run = env.client.post(
        "/v1/run/tasks", json_body={"prompt": "p", "url": "https://example.com"}, key=other_key
    )
    assert run.status == 200
    # The run's app_url is its viewer page on this server.
    assert run.json()["app_url"] == f"http://127.0.0.1:8000/runs/{run.json()['run_id']}"
    signed = _signed(env)
    csrf = {"x-alto-csrf": signed.csrf}
    assert env.call("GET", f"/viewer/api/runs/{run.json()['run_id']}", signed, **csrf).status == 404
    assert env.call("POST", f"/viewer/api/runs/{run.json()['run_id']}/cancel", signed, **csrf).status == 404
    for query in ("status=bogus", "page_size=0", "page_size=101", "search=" + "x" * 300):
        assert env.call("GET", f"/viewer/api/runs?{query}", signed, **csrf).status in (400, 422), query
    assert env.call("GET", "/viewer/api/runs?cursor=zzz", signed, **csrf).status == 400


def test_every_link_of_a_run_page_answers_its_bytes_without_a_key(env: Env) -> None:
    # A finished run with every kind of artifact: screenshots, downloads, a recording, pages.
    org = env.runtime.keys.org_by_name("default")
    assert org is not None
    seeded = seed_run(
        env.runtime.event_log,
        env.runtime.artifacts,
        org_id=org.org_id,
        run_id=f"tsk_v2_{env.runtime.ids.number()}",
        number=env.runtime.ids.number,
    )
    signed = _signed(env)
    reply = env.call("GET", f"/viewer/api/runs/{seeded.run_id}", signed, **{"x-alto-csrf": signed.csrf})
    assert reply.status == 200
    detail = reply.json()
    run = detail["run"]
    links = [
        *run["screenshot_urls"],
        *(f["url"] for f in run["downloaded_files"]),
        *(a["signed_url"] for a in detail["artifacts"].values()),
    ]
    assert run["recording_url"] and run["downloaded_files"] and run["screenshot_urls"]
    links.append(run["recording_url"])
    assert len(detail["screenshot_ids"]) == len(run["screenshot_urls"])
    records = {r.artifact_id: r for r in env.runtime.event_log.list_artifacts(seeded.run_id)}
    for link in links:
        parts = urlsplit(link)
        artifact_id = parts.path.split("/")[3]
        got = env.client.get(parts.path, query=dict(parse_qsl(parts.query)), key=None)
        assert got.status == 200, link
        assert got.body == env.runtime.artifacts.get(records[artifact_id].uri)  # byte for byte
