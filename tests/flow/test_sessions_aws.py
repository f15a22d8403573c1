"""Browser sessions on the AWS runtime (moto): the api function, the run state machine (the same
ASL file, executed), the agent_step function with real Chromium, and the `checkpoint` backend —
each run's browser state sealed into the bucket and restored by the session's next run; the
session's timeout is an EventBridge Scheduler one-time schedule (moto records it; the test
fires it by invoking its target as the scheduler would)."""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import parse_qs, urljoin, urlsplit

import boto3
import httpx
import pytest
from botocore.exceptions import ClientError
from skyvern.client.errors import BadRequestError

from altostratus.adapters.dynamodb_session_log import DynamoDBSessionLog
from altostratus.adapters.scheduler_session_timer import at_expression, schedule_name
from altostratus.domain import sessions as s
from altostratus.runtimes import aws as aws_runtime
from tests.agent.scenarios import AGENT_PAGES, click, type_text
from tests.fakes.anthropic_server import FakeAnthropicServer, Reply
from tests.fakes.policies import Page, act, agent_policy, done, terminate
from tests.flow.drivers import API_BASE, AwsStack, aws_stack
from tests.support.clock import FakeClock
from tests.support.fixture_site import FixtureSite
from tests.support.functions import function_client, load_function

pytestmark = pytest.mark.browser

LOGIN = "Sign in to the portal as alice"
CHECK = "Say who is signed in to the portal"
WATCH = "Keep an eye on the portal"
FINAL = {"completed", "failed", "terminated", "timed_out", "canceled"}
GROUP = "altostratus-sessions-flow"
CLOSE_ARN = "arn:aws:lambda:us-east-1:123456789012:function:session_close"
ROLE_ARN = "arn:aws:iam::123456789012:role/session-scheduler"


def _agent(page: Page) -> Reply:
    prompt = json.dumps(page.request.body)
    if WATCH in prompt:
        return act(click(page.element("link", "Reload the portal")))  # never done
    if LOGIN in prompt:
        if "session-login" in page.url:
            if page.turn == 0:
                return act(type_text(page.element("textbox", "Username"), "alice"))
            return act(click(page.element("button", "Sign in")))
        if page.sees("Signed in as alice"):
            return done("Signed in", {"who": "alice"})
        return terminate("no login")
    # The check run has no url: it starts on the page the login run left, loaded again.
    if "session-home" not in page.url:
        return terminate(f"not on the page the previous run left: {page.url}")
    if page.sees("Signed in as alice"):
        return done("alice is signed in", {"who": "alice"})
    return terminate("the login was not kept")


@pytest.fixture
def model() -> Iterator[FakeAnthropicServer]:
    # Some latency per answer, so the second run is submitted while the first one runs.
    with FakeAnthropicServer(agent_policy(_agent), delay_s=0.4) as server:
        yield server


@pytest.fixture
def stack(monkeypatch: pytest.MonkeyPatch, model: FakeAnthropicServer) -> Iterator[AwsStack]:
    monkeypatch.setenv("ALTO_RECORDING", "false")
    # What template.yaml gives the api and session_close functions.
    monkeypatch.setenv("ALTO_SESSION_CLOSE_FUNCTION_ARN", CLOSE_ARN)
    monkeypatch.setenv("ALTO_SESSION_SCHEDULER_ROLE_ARN", ROLE_ARN)
    monkeypatch.setenv("ALTO_SESSION_SCHEDULE_GROUP", GROUP)
    with aws_stack(monkeypatch, model) as running:
        boto3.client("scheduler", region_name="us-east-1").create_schedule_group(Name=GROUP)
        running.lambdas.deploy("session_close", load_function("session_close").handler)
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


def _viewed(browser: httpx.Client, session_id: str) -> Any:
    """The session as its viewer page reads it: signed in, with the CSRF token from the cookie."""
    csrf = browser.cookies.get("__Host-alto_csrf")
    assert csrf, browser.cookies
    reply = browser.get(f"{API_BASE}/viewer/api/browser_sessions/{session_id}", headers={"x-alto-csrf": csrf})
    assert reply.status_code == 200, reply.text
    return reply.json()


def _schedule(session_id: str) -> dict[str, Any]:
    scheduler = boto3.client("scheduler", region_name="us-east-1")
    found: dict[str, Any] = scheduler.get_schedule(Name=schedule_name(session_id), GroupName=GROUP)
    return found


def _session(session_id: str) -> s.SessionView:
    log = aws_runtime.runtime().services.sessions
    assert log is not None
    view = log.get(session_id)
    assert view is not None
    return view


def _fire(session_id: str) -> dict[str, Any]:
    """What the schedule does at its time: invoke its target with its input."""
    schedule = _schedule(session_id)
    assert schedule["Target"]["Arn"] == CLOSE_ARN and schedule["Target"]["RoleArn"] == ROLE_ARN
    answer = boto3.client("lambda", region_name="us-east-1").invoke(
        FunctionName=schedule["Target"]["Arn"], Payload=schedule["Target"]["Input"].encode()
    )
    assert "FunctionError" not in answer
    result: dict[str, Any] = json.loads(answer["Payload"].read())
    return result


def test_two_runs_in_a_checkpoint_session_queue_and_the_second_keeps_the_login(
    stack: AwsStack, site: FixtureSite
) -> None:
    sdk = stack.sdk()
    # GIVEN a session made with the SDK: started, no browser to connect to, its timeout scheduled
    created = sdk.create_browser_session(timeout=30)
    session_id = created.browser_session_id
    assert created.status == "running" and created.timeout == 30 and created.started_at
    assert created.browser_address is None and created.runnable_id is None
    # Its app_url is the viewer's page of the session, served by the api function: a browser
    # sent there signs in with the key and lands on the session's page.
    assert created.app_url == f"{API_BASE}/browser-session/{session_id}"
    browser = function_client(stack.api.handler)  # keeps the cookies it is given
    asked = browser.get(created.app_url, follow_redirects=False)
    assert asked.status_code in {302, 303}, asked.text  # signed out: the viewer asks for a key
    assert asked.headers["location"].endswith(f"/signin?next=/browser-session/{session_id}")
    signin = browser.get(urljoin(created.app_url, asked.headers["location"]))
    assert signin.status_code == 200 and "text/html" in signin.headers["content-type"]
    assert 'data-page="signin"' in signin.text
    # (the sign-in page posts the key from its own origin, then opens its `next`)
    own_origin = {"origin": API_BASE, "sec-fetch-site": "same-origin"}
    signed = browser.post(f"{API_BASE}/viewer/api/session", json={"api_key": stack.key}, headers=own_origin)
    assert signed.status_code == 200, signed.text
    landed = parse_qs(urlsplit(asked.headers["location"]).query)["next"][0]
    page = browser.get(urljoin(created.app_url, landed), follow_redirects=False)
    assert page.status_code == 200, page.headers
    assert 'data-page="session"' in page.text and "text/html" in page.headers["content-type"]
    assert _viewed(browser, session_id)["session"]["browser_session_id"] == session_id
    schedule = _schedule(session_id)
    assert schedule["ScheduleExpression"] == at_expression(_session(session_id).deadline)
    assert schedule["ScheduleExpressionTimezone"] == "UTC" and schedule["ActionAfterCompletion"] == "DELETE"
    assert json.loads(schedule["Target"]["Input"]) == {"session_id": session_id}
    # WHEN run 1 signs in inside it, and run 2 is submitted while run 1 runs
    first = sdk.run_task(
        prompt=LOGIN, url=site.url(f"/{AGENT_PAGES}/session-login.html"), browser_session_id=session_id
    ).run_id
    held = _wait(lambda: sdk.get_browser_session(session_id).runnable_id, "run 1 to lease the session")
    assert held == first
    second = sdk.run_task(prompt=CHECK, browser_session_id=session_id).run_id
    # THEN run 2 waits, queued, while run 1 holds the session
    assert sdk.get_run(second).status == "queued"
    one = _wait(lambda: (r := sdk.get_run(first)).status in FINAL and r, "run 1")
    two = _wait(lambda: (r := sdk.get_run(second)).status in FINAL and r, "run 2")
    assert one.status == "completed", one.failure_reason
    # AND run 2 ran after run 1, in a new browser that had run 1's login (the cookie)
    assert two.status == "completed", two.failure_reason
    assert two.output == {"who": "alice"}
    assert two.started_at is not None and one.finished_at is not None
    assert two.started_at >= one.finished_at
    idle = _wait(
        lambda: (v := sdk.get_browser_session(session_id)).runnable_id is None and v, "the lease to end"
    )
    assert idle.status == "running" and idle.browser_address is None
    # AND the session's page in the viewer lists both runs, with what its browser showed last
    viewed = _viewed(browser, session_id)
    assert sorted(r["run_id"] for r in viewed["runs"]) == sorted([first, second])
    assert viewed["latest_screenshot"]["run_id"] == second
    # AND every link the runs, the session and its page hand out answers the bucket's bytes
    session = _call(stack, "GET", f"/v1/browser_sessions/{session_id}")
    fetched = stack.assert_links_answer_stored_bytes(first, second, also=[session, viewed["session"], viewed])
    assert "latest_screenshot" in {f.where for f in fetched}
    assert {f.artifact_id for f in fetched if f.where.startswith("screenshot_urls")} >= {
        viewed["latest_screenshot"]["artifact_id"]
    }
    # AND what run 2 left is in the bucket, sealed: no cookie in clear
    state_uri = _session(session_id).state_uri
    assert state_uri is not None and state_uri.startswith("s3://alto-artifacts/runs/")
    bucket, key = state_uri[len("s3://") :].split("/", 1)
    stored = boto3.client("s3", region_name="us-east-1").get_object(Bucket=bucket, Key=key)["Body"].read()
    assert set(json.loads(stored)) == {"sealed"} and b"alice" not in stored and b"member" not in stored
    # WHEN it is extended
    extended = sdk.extend_browser_session(session_id, additional_minutes=15)
    # THEN the deadline and the schedule move
    assert extended.timeout == 45
    view = _session(session_id)
    assert view.deadline == view.started_at + timedelta(minutes=45)  # type: ignore[operator]
    assert _schedule(session_id)["ScheduleExpression"] == at_expression(view.deadline)
    # AND the schedule firing early (at a deadline the session no longer has) closes nothing
    assert _fire(session_id)["result"] == "rearmed"
    assert sdk.get_browser_session(session_id).status == "running"
    # WHEN it is closed
    sdk.close_browser_session(session_id)
    closed = sdk.get_browser_session(session_id)
    # THEN status and timestamps say so, its schedule is gone, it leaves the listing
    assert closed.status == "completed"
    assert closed.completed_at is not None and closed.started_at is not None
    assert closed.completed_at >= closed.started_at
    with pytest.raises(ClientError) as gone:
        _schedule(session_id)
    assert gone.value.response["Error"]["Code"] == "ResourceNotFoundException"
    assert session_id not in [v.browser_session_id for v in sdk.get_browser_sessions()]
    with pytest.raises(BadRequestError) as refused:
        sdk.run_task(prompt=CHECK, browser_session_id=session_id)
    assert refused.value.body == {"detail": s.closed_message(session_id)}
    # AND the raw close answer is Skyvern's message
    assert _call(stack, "POST", f"/v1/browser_sessions/{session_id}/close") == {
        "message": "Browser session closed"
    }


def test_the_sessions_schedule_closes_it_at_its_timeout_and_the_run_in_it_fails_with_the_reason(
    stack: AwsStack, site: FixtureSite
) -> None:
    # GIVEN a session of 5 minutes that started 4 minutes 52 seconds ago, its timeout scheduled
    org = aws_runtime.runtime().keys.org_by_name("acme")
    assert org is not None
    started = datetime.now(UTC) - timedelta(minutes=4, seconds=52)
    session_id = f"pbs_{int(time.time() * 1000)}"
    ddb = boto3.client("dynamodb", region_name="us-east-1")
    old = DynamoDBSessionLog(ddb, state_table="alto-state", clock=FakeClock(started))
    old.append(
        session_id,
        [
            s.SessionCreated(org_id=org.org_id, spec=s.SessionSpec(timeout=5), backend="checkpoint"),
            s.SessionStarted(connectable=False),
        ],
    )
    timer = aws_runtime.runtime().services.session_timer
    assert timer is not None
    timer.arm(session_id, _session(session_id).deadline)
    # WHEN a run works in it past that deadline, and the schedule fires
    watch = {
        "prompt": WATCH,
        "url": site.url(f"/{AGENT_PAGES}/session-home.html"),
        "browser_session_id": session_id,
        "max_steps": 100,
    }
    run_id = _call(stack, "POST", "/v1/run/tasks", watch)["run_id"]
    _wait(lambda: _call(stack, "GET", f"/v1/runs/{run_id}")["status"] == "running", "the run to start")
    _wait(lambda: datetime.now(UTC) >= _session(session_id).deadline, "the deadline", 30)
    assert _fire(session_id)["result"] == "closed"
    # THEN the run failed saying why, and the session timed out, free, its schedule gone
    ended = _wait(
        lambda: (r := _call(stack, "GET", f"/v1/runs/{run_id}"))["status"] in FINAL and r, "the run"
    )
    assert ended["status"] == "failed"
    assert ended["failure_reason"] == f"Browser session {session_id} reached its timeout of 5 minutes"
    closed = _call(stack, "GET", f"/v1/browser_sessions/{session_id}")
    assert (
        closed["status"] == "timeout" and closed["completed_at"] is not None and closed["runnable_id"] is None
    )
    with pytest.raises(ClientError):
        _schedule(session_id)
    assert _fire_gone(session_id) == "ended"


def _fire_gone(session_id: str) -> str:
    """A late delivery of a schedule that has fired (the scheduler retries): nothing happens."""
    answer = boto3.client("lambda", region_name="us-east-1").invoke(
        FunctionName=CLOSE_ARN, Payload=json.dumps({"session_id": session_id}).encode()
    )
    return str(json.loads(answer["Payload"].read())["result"])
