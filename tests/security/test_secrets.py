"""Secrets of a run (a password in the start URL, a credential query value, browser header
values, a typed {{secret:...}} value) appear nowhere a person or the model can read: not in
the API's answers, the events, the artifacts, the model's requests, the logs, or any file of
the data directory."""

from __future__ import annotations

import base64
import json
import logging
import os
import stat
import time
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import quote, quote_plus

import httpx
import pytest

from altostratus.domain.view import RunView
from altostratus.runtimes.embedded import EmbeddedService
from altostratus.runtimes.settings import Settings
from tests.agent.scenarios import click, type_text
from tests.fakes.anthropic_server import FakeAnthropicServer, HttpError, MessagesRequest, Reply, ToolUse
from tests.fakes.policies import Page, act, agent_policy, done
from tests.support.fixture_site import FixtureSite

pytestmark = pytest.mark.browser

URL_PASSWORD = "URLPASS-9731"
QUERY_TOKEN = "QTOKEN-5521"
HEADER_VALUE = "HDRSECRET-8842"
TYPED = "correct horse 42"  # the fixture's members page accepts alice with this password
SECRETS = (URL_PASSWORD, QUERY_TOKEN, HEADER_VALUE, TYPED)


def _forms(secret: str) -> set[str]:
    return {secret, quote(secret, safe=""), quote_plus(secret)}


FORBIDDEN = set().union(*(_forms(s) for s in SECRETS)) | {
    base64.b64encode(f"alice:{URL_PASSWORD}".encode()).decode()
}


def leaks(text: str) -> list[str]:
    return sorted(s for s in FORBIDDEN if s in text)


class _Collect(logging.Handler):
    def __init__(self) -> None:
        super().__init__(logging.DEBUG)
        self.lines: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.lines.append(self.format(record))


@pytest.fixture
def logs() -> Iterator[_Collect]:
    handler = _Collect()
    handler.setFormatter(logging.Formatter("%(name)s %(levelname)s %(message)s"))
    root = logging.getLogger()
    previous = root.level
    root.addHandler(handler)
    root.setLevel(logging.DEBUG)
    try:
        yield handler
    finally:
        root.removeHandler(handler)
        root.setLevel(previous)


def _unset(request: MessagesRequest) -> HttpError:
    return HttpError(500, "api_error", "no policy yet")


def test_no_secret_of_a_run_is_readable_anywhere(tmp_path: Path, site: FixtureSite, logs: _Collect) -> None:
    # GIVEN a run whose start URL carries a password and a token, whose browser sends a secret
    # header (which one page shows back), and whose password is typed from a named secret
    def agent(page: Page) -> Reply:
        if page.url.endswith("/echo/headers"):  # the page shows the browser's headers back
            return done("Signed in and checked the headers.")
        if page.sees("Welcome back"):
            return act(ToolUse("navigate", {"url": site.url("/echo/headers")}))
        return act(
            type_text(page.element("Username"), "alice"),
            type_text(page.element("Password"), "{{secret:password}}"),
            click(page.element("Sign in", role="button")),
        )

    start = site.url("/agent/login.html").replace("http://", f"http://alice:{URL_PASSWORD}@")
    start += f"?token={QUERY_TOKEN}"
    data_dir = tmp_path / "data"
    with FakeAnthropicServer(_unset) as model:
        model.set_policy(agent_policy(agent))
        settings = Settings(
            data_dir=data_dir,
            port=0,
            anthropic_api_key=model.api_key,
            anthropic_base_url=model.base_url,
            max_browsers=1,
        )

        def named_secrets(view: RunView) -> dict[str, str]:
            return {"password": TYPED}

        service = EmbeddedService(settings, secrets=named_secrets)
        key = service.runtime.ensure_dev_key()
        assert key is not None
        answers: list[str] = []
        with service, httpx.Client(base_url=service.base_url, headers={"x-api-key": key}, timeout=30) as http:
            # WHEN it runs to its end
            reply = http.post(
                "/v1/run/tasks",
                json={
                    "prompt": "Sign in as alice, then open the header echo page.",
                    "url": start,
                    "extra_http_headers": {"X-Secret-Header": HEADER_VALUE},
                    "engine": "skyvern-1.0",
                },
            )
            assert reply.status_code == 200, reply.text
            answers.append(reply.text)
            run_id = reply.json()["run_id"]
            deadline = time.monotonic() + 90
            while (run := http.get(f"/v1/runs/{run_id}")).json()["status"] not in {
                "completed",
                "failed",
                "terminated",
                "timed_out",
                "canceled",
            }:
                assert time.monotonic() < deadline, run.text
                time.sleep(0.1)
            answers.append(run.text)
            answers.append(http.get(f"/v1/runs/{run_id}/timeline").text)
            artifacts = http.get(f"/v1/runs/{run_id}/artifacts")
            answers.append(artifacts.text)
            answers.append(http.get("/v1/runs").text)
            assert service.runner.wait_idle(timeout=30)
            events = service.runtime.event_log.read(run_id)
            stored = [service.runtime.artifacts.get(a["uri"]) for a in artifacts.json()]
        model_requests = list(model.requests_text())

    # THEN the run did what it was asked with the real values...
    assert run.json()["status"] == "completed", run.json()["failure_reason"]
    assert any(r.headers.get("X-Secret-Header") == HEADER_VALUE for r in site.requests)
    assert "{{secret:password}}" in json.dumps([e.model_dump(mode="json") for e in events])
    assert any(b"X-Secret-Header" in a and b"***" in a for a in stored)  # the echo page, redacted
    # ...and no secret can be read anywhere
    assert leaks("\n".join(answers)) == []
    assert leaks(json.dumps([e.model_dump(mode="json") for e in events])) == []
    assert leaks("\n".join(a.decode(errors="replace") for a in stored)) == []
    assert model_requests and leaks("\n".join(model_requests)) == []
    assert logs.lines and leaks("\n".join(logs.lines)) == []
    files = [p for p in data_dir.rglob("*") if p.is_file()]
    assert any(p.name == "alto.db" for p in files)
    for path in files:
        assert leaks(path.read_bytes().decode("latin-1")) == [], path.name
    # AND the data directory is its owner's only
    assert stat.S_IMODE(data_dir.stat().st_mode) == 0o700
    assert [p.name for p in files if stat.S_IMODE(p.stat().st_mode) & 0o077] == []
    assert os.access(data_dir, os.R_OK)
