"""The agent_step execution environment keeps its Chromium between invocations (a new context
per run), checks it before each use, and launches another when it died; under moto with the
real agent_step handler, real Chromium and the fake model."""

from __future__ import annotations

import json
import os
import signal
import time
from collections.abc import Iterator
from typing import Any

import boto3
import pytest

from altostratus.domain.view import RunView
from altostratus.runtimes import aws as aws_runtime
from tests.agent.scenarios import AGENT_PAGES, LINKS
from tests.fakes.anthropic_server import FakeAnthropicServer
from tests.flow.drivers import TERMINAL, AwsStack, aws_stack
from tests.flow.scenarios import FlowScenario
from tests.support.fixture_site import FixtureSite
from tests.support.functions import load_function
from tests.support.processes import chromium_browsers

pytestmark = pytest.mark.browser

# Slices short enough that one run takes several: a slice starts no step with less than the
# reserve left, so each runs a step or two and checkpoints.
SHORT_SLICES = FlowScenario(
    "warm browser", LINKS, "completed", settings={"slice_seconds": 2.5, "step_reserve_seconds": 2.0}
)


@pytest.fixture
def model() -> Iterator[FakeAnthropicServer]:
    with FakeAnthropicServer(LINKS.policy()) as server:
        yield server


def _run(stack: AwsStack, site: FixtureSite, model: FakeAnthropicServer) -> tuple[RunView, int, int]:
    """Submits the task and waits for its execution to end: (its view, how many agent slices
    the execution ran, how many of them failed)."""
    model.set_policy(LINKS.policy())
    request = {"prompt": LINKS.prompt, "url": site.url(f"/{AGENT_PAGES}/{LINKS.start}")}
    reply = stack.call_api("POST", "/v1/run/tasks", request)
    assert reply["statusCode"] == 200, reply["body"]
    run_id = json.loads(reply["body"])["run_id"]
    sfn = boto3.client("stepfunctions", region_name="us-east-1")
    arn = f"{os.environ['ALTO_STATE_MACHINE_ARN'].replace(':stateMachine:', ':execution:')}:{run_id}"
    deadline = time.monotonic() + 120
    while sfn.describe_execution(executionArn=arn)["status"] == "RUNNING":
        assert time.monotonic() < deadline, "the run did not end in time"
        time.sleep(0.05)
    history: list[dict[str, Any]] = sfn.get_execution_history(executionArn=arn, maxResults=1000)["events"]
    slices = sum(
        1
        for e in history
        if e["type"] == "TaskStateEntered" and e["stateEnteredEventDetails"]["name"] == "Run agent steps"
    )
    failed = sum(1 for e in history if e["type"] == "TaskFailed")
    view = aws_runtime.runtime().event_log.get_view(run_id)
    assert view is not None and view.status.value in TERMINAL
    return view, slices, failed


def _gone(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return True
    # A killed child stays a zombie until reaped; it is gone all the same.
    with open(f"/proc/{pid}/stat") as stat:
        return stat.read().rsplit(")", 1)[1].split()[0] == "Z"


def test_slices_reuse_one_chromium_and_a_killed_one_is_relaunched(
    monkeypatch: pytest.MonkeyPatch, site: FixtureSite, model: FakeAnthropicServer
) -> None:
    before = chromium_browsers()  # other tests' browsers, shared for the session
    with aws_stack(monkeypatch, model, SHORT_SLICES) as stack:
        stack.lambdas.register("agent_step", load_function("agent_step").handler)

        first, slices, _ = _run(stack, site, model)
        assert first.status.value == "completed", first.failure_reason
        assert "WR-7731-K" in json.dumps(first.output)
        assert slices >= 2  # the run took several invocations...
        (browser,) = chromium_browsers() - before  # ...and one Chromium served them all

        second, _, _ = _run(stack, site, model)
        assert second.status.value == "completed", second.failure_reason
        assert chromium_browsers() - before == {browser}  # the next run too, in a new context

        os.kill(browser, signal.SIGKILL)  # dies while the environment is idle
        deadline = time.monotonic() + 10
        while not _gone(browser):
            assert time.monotonic() < deadline
            time.sleep(0.05)
        third, _, failed = _run(stack, site, model)
        assert third.status.value == "completed", third.failure_reason
        # The check before the slice found it dead: no slice failed on it, no step was lost.
        assert failed == 0 and third.step_count == second.step_count
        (relaunched,) = chromium_browsers() - before
        assert relaunched != browser
    assert chromium_browsers() - before == set()  # closed with the environment
