"""Browser sessions on the AWS runtime (moto) with the opt-in `agentcore` backend: the api
function starts an AgentCore Browser session per browser session at the local fake of
AgentCore's data plane (SigV4 checked with the functions' own credentials), the agent_step
function's slices reach it over its signed automation stream, and the session's close stops it.
Unlike the checkpoint backend, the browser stays up: run 2 works on the very page run 1 left."""

from __future__ import annotations

import json
import re
import time
from collections.abc import Callable, Iterator
from typing import Any

import boto3
import pytest

from altostratus.devtools.fake_agentcore import FakeAgentCore, FakeCredentials
from tests.agent.scenarios import AGENT_PAGES, click, type_text
from tests.fakes.anthropic_server import FakeAnthropicServer, Reply
from tests.fakes.policies import Page, act, agent_policy, done, terminate
from tests.flow.drivers import AwsStack, aws_stack
from tests.support.fixture_site import FixtureSite

pytestmark = pytest.mark.browser

LOGIN = "Sign in to the portal as alice"
CHECK = "Say who is signed in to the portal and which page stamp it shows"
FINAL = {"completed", "failed", "terminated", "timed_out", "canceled"}
STAMP = re.compile(r"Page stamp (\w+)")


def _stamp(page: Page) -> str | None:
    found = STAMP.search(page.observation)
    return found.group(1) if found else None


def _agent(page: Page) -> Reply:
    prompt = json.dumps(page.request.body)
    if CHECK in prompt:
        # No url of its own: it must start on the page the login run left, as that run left it.
        if "session-home" not in page.url or not page.sees("Signed in as alice"):
            return terminate(f"not on the page the previous run left: {page.url}")
        return done("alice is signed in", {"who": "alice", "stamp": _stamp(page)})
    if "session-login" in page.url:
        if page.turn == 0:
            return act(type_text(page.element("textbox", "Username"), "alice"))
        return act(click(page.element("button", "Sign in")))
    if page.sees("Signed in as alice"):
        return done("Signed in", {"who": "alice", "stamp": _stamp(page)})
    return terminate("no login")


@pytest.fixture
def agentcore() -> Iterator[FakeAgentCore]:
    with FakeAgentCore() as running:
        yield running


@pytest.fixture
def stack(monkeypatch: pytest.MonkeyPatch, agentcore: FakeAgentCore) -> Iterator[AwsStack]:
    monkeypatch.setenv("ALTO_RECORDING", "false")
    monkeypatch.setenv("ALTO_SESSION_BACKEND", "agentcore")
    monkeypatch.setenv("ALTO_AGENTCORE_REGION", agentcore.region)
    monkeypatch.setenv("ALTO_AGENTCORE_ENDPOINT_URL", agentcore.endpoint_url)
    # Some latency per answer, so the second run is submitted while the first one runs.
    with (
        FakeAnthropicServer(agent_policy(_agent), delay_s=0.4) as model,
        aws_stack(monkeypatch, model) as running,
    ):
        # The functions sign with the environment's credentials (moto's): AgentCore trusts those.
        found = boto3.Session().get_credentials().get_frozen_credentials()
        agentcore.trust(FakeCredentials(found.access_key, found.secret_key, found.token))
        yield running


def _call(stack: AwsStack, method: str, path: str, body: Any = None, status: int = 200) -> Any:
    reply = stack.call_api(method, path, body)
    assert reply["statusCode"] == status, reply["body"]
    return json.loads(reply["body"])


def _wait(check: Callable[[], Any], what: str, timeout_s: float = 120) -> Any:
    deadline = time.monotonic() + timeout_s
    while not (found := check()):
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        time.sleep(0.1)
    return found


def test_two_runs_in_an_agentcore_session_the_second_on_the_live_page_the_first_left(
    stack: AwsStack, agentcore: FakeAgentCore, site: FixtureSite
) -> None:
    # GIVEN a session: an AgentCore browser session named after it is READY
    created = _call(stack, "POST", "/v1/browser_sessions", {"timeout": 30})
    session_id = created["browser_session_id"]
    assert created["status"] == "running" and created["browser_address"] is None
    remote = [s for s in agentcore.ready_sessions() if s.name == session_id]
    assert len(remote) == 1
    # WHEN run 1 signs in inside it, and run 2 is submitted while run 1 runs
    login = {
        "prompt": LOGIN,
        "url": site.url(f"/{AGENT_PAGES}/session-login.html"),
        "browser_session_id": session_id,
    }
    first = _call(stack, "POST", "/v1/run/tasks", login)["run_id"]
    _wait(
        lambda: _call(stack, "GET", f"/v1/browser_sessions/{session_id}")["runnable_id"] == first,
        "run 1 to lease the session",
    )
    second = _call(stack, "POST", "/v1/run/tasks", {"prompt": CHECK, "browser_session_id": session_id})
    assert _call(stack, "GET", f"/v1/runs/{second['run_id']}")["status"] == "queued"
    one = _wait(lambda: (r := _call(stack, "GET", f"/v1/runs/{first}"))["status"] in FINAL and r, "run 1")
    two = _wait(
        lambda: (r := _call(stack, "GET", f"/v1/runs/{second['run_id']}"))["status"] in FINAL and r, "run 2"
    )
    # THEN run 2 found the page run 1 left, never reloaded (its stamp is the one run 1 saw)
    assert one["status"] == "completed", one["failure_reason"]
    assert two["status"] == "completed", two["failure_reason"]
    assert one["output"]["stamp"] and two["output"] == {"who": "alice", "stamp": one["output"]["stamp"]}
    assert two["started_at"] >= one["finished_at"]
    # AND every link the runs and the session hand out answers the bucket's bytes
    session = _call(stack, "GET", f"/v1/browser_sessions/{session_id}")
    assert stack.assert_links_answer_stored_bytes(first, second["run_id"], also=[session])
    # AND the slices reached AgentCore's browser over the signed stream, nothing refused
    assert remote[0].automation_connections >= 2
    assert agentcore.refused == []
    # WHEN the session is closed
    assert _call(stack, "POST", f"/v1/browser_sessions/{session_id}/close") == {
        "message": "Browser session closed"
    }
    # THEN its AgentCore session is stopped
    assert agentcore.sessions[remote[0].session_id].status == "TERMINATED"
    assert _call(stack, "GET", f"/v1/browser_sessions/{session_id}")["status"] == "completed"
