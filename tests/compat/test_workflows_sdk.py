"""Workflows with the official Skyvern SDK (skyvern==1.0.56) against a real `alto serve`: a
skyvern-2.0 run with `publish_workflow` becomes a workflow whose script replays as code with no
model call; when the page changed, the agent heals the run and the script gets a new revision.
Real Chromium on the fixture site's order form; the fake Messages server plays the model."""

from __future__ import annotations

import asyncio
import hashlib
import re
import shutil
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest
from skyvern.client import Skyvern as SkyvernClient
from skyvern.client.core.api_error import ApiError
from skyvern.client.errors import BadRequestError

from altostratus.adapters.browser import BrowserRuntime
from altostratus.domain.replay.plan import ReplayPlan
from tests.fakes.anthropic_server import FakeAnthropicServer, Reply, ToolUse
from tests.fakes.policies import Page, accept_when, act, agent_policy, done, extract_with
from tests.replay.scenario import ORDER_SCHEMA, PAGES, POLICY, PROMPT, expected_output, read_order
from tests.support.fixture_site import SITE_ROOT, FixtureSite
from tests.support.server import RunningServer, alto, alto_serve

pytestmark = pytest.mark.browser

FINAL = {"completed", "failed", "terminated", "timed_out", "canceled"}
GRACE = {"full_name": "Grace Hopper", "email": "grace@example.com", "plan": "Enterprise"}


def _healing_agent(page: Page) -> Reply:
    """The agent on the changed form: the button is "Continue" and a Company field is required."""
    if page.sees("Order confirmed"):
        return done("The order is confirmed.")
    if page.sees("Choose your plan"):
        return act(
            ToolUse("select", {"element": page.element("Plan"), "option": "Team"}),
            ToolUse("check", {"element": page.element("accept the terms")}),
            ToolUse("click", {"element": page.element("Place order", role="button")}),
        )
    return act(
        ToolUse("type", {"element": page.element("Company"), "text": "Analytical Engines"}),
        ToolUse("click", {"element": page.element("Continue", role="button")}),
        thought="The name and email are filled in already; the form now asks for a company.",
    )


HEALING = agent_policy(
    _healing_agent, verifier=accept_when("Order confirmed"), extractor=extract_with(read_order)
)


@dataclass
class Workflows:
    server: RunningServer
    model: FakeAnthropicServer
    site: FixtureSite
    root: Path
    key: str
    other_key: str

    def client(self, key: str | None = None) -> SkyvernClient:
        return SkyvernClient(base_url=self.server.base_url, api_key=key or self.key, timeout=30)

    def wait(self, run_id: str, timeout_s: float = 120) -> Any:
        sdk = self.client()
        deadline = time.monotonic() + timeout_s
        while (run := sdk.get_run(run_id)).status not in FINAL:
            if time.monotonic() > deadline:
                raise AssertionError(f"run {run_id} did not end: {run.status}")
            time.sleep(0.2)
        return run

    def change_the_form(self) -> None:
        page = self.root / PAGES / "order-1.html"
        html = page.read_text()
        html = html.replace(
            '<button type="submit">Next</button>',
            '<label>Company <input name="company" type="text" required></label>\n'
            '    <button type="submit">Continue</button>',
        )
        page.write_text(html)


@pytest.fixture(scope="module")
def workflows(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Workflows]:
    data_dir: Path = tmp_path_factory.mktemp("alto-workflows")
    # A copy of the fixture site, so a test can change its form.
    root = tmp_path_factory.mktemp("site") / "site"
    shutil.copytree(SITE_ROOT, root)
    key = alto("keys", "create", "--org", "workflows", data_dir=data_dir).strip()
    other_key = alto("keys", "create", "--org", "someone-else", data_dir=data_dir).strip()
    with FixtureSite(root=root) as site, FakeAnthropicServer(POLICY) as model:
        env = {
            "ANTHROPIC_API_KEY": model.api_key,
            "ALTO_ANTHROPIC_BASE_URL": model.base_url,
            "ALTO_ALLOWED_TARGETS": "127.0.0.1",
        }
        with alto_serve(data_dir, env=env) as server:
            yield Workflows(server, model, site, root, key, other_key)


def _published(workflows: Workflows) -> tuple[str, str]:
    """A completed skyvern-2.0 run with publish_workflow: (its run id, its workflow's wpid)."""
    sdk = workflows.client()
    submitted = sdk.run_task(
        prompt=PROMPT,
        url=workflows.site.url(f"/{PAGES}/order-1.html"),
        data_extraction_schema=ORDER_SCHEMA,
        publish_workflow=True,
    )
    run = workflows.wait(submitted.run_id)
    assert run.status == "completed", run.failure_reason
    assert run.output == expected_output("Ada Lovelace", "ada@example.com", "Team")
    wpid = run.model_extra["workflow_permanent_id"]  # type: ignore[index]
    assert isinstance(wpid, str) and wpid.startswith("wpid_")
    return submitted.run_id, wpid


def test_a_published_run_replays_as_code_with_other_values_and_no_model_call(workflows: Workflows) -> None:
    sdk = workflows.client()
    # GIVEN a skyvern-2.0 run with publish_workflow that filled the two-step form and read the
    # confirmation with a schema
    run_id, wpid = _published(workflows)
    # THEN the workflow is listed, runs as code by default, and has the run's parameters
    listed = {w.workflow_permanent_id: w for w in sdk.get_workflows()}
    assert wpid in listed
    workflow = sdk.get_workflow(wpid)
    assert workflow.run_with == "code" and workflow.ai_fallback is True and workflow.status == "published"
    keys = {p.key: p.default_value for p in workflow.workflow_definition.parameters}  # type: ignore[union-attr]
    assert keys == {"full_name": "Ada Lovelace", "email": "ada@example.com", "plan": "Team"}
    assert wpid not in {
        w.workflow_permanent_id for w in workflows.client(workflows.other_key).get_workflows()
    }
    # AND its script_file artifacts are the plan and main.py, their links giving the stored bytes
    files = sdk.get_run_artifacts(run_id, artifact_type=["script_file"])
    by_name = {a.filename: a for a in files}  # type: ignore[attr-defined]
    assert set(by_name) == {"plan.json", "main.py"}
    bodies = {}
    for name, artifact in by_name.items():
        assert artifact.signed_url is not None
        body = httpx.get(artifact.signed_url, timeout=10).content
        assert hashlib.sha256(body).hexdigest() == artifact.checksum  # type: ignore[attr-defined]
        bodies[name] = body
    plan = ReplayPlan.from_json(bodies["plan.json"])
    assert plan.source_run_id == run_id and [p.name for p in plan.parameters] == [
        "full_name",
        "email",
        "plan",
    ]
    assert b"from playwright" in bodies["main.py"] and b"get_by_" in bodies["main.py"]
    # AND the script is listed at version 1
    script_id = workflow.model_extra["script_id"]  # type: ignore[index]
    assert script_id in {s.script_id for s in sdk.get_scripts()}
    assert sdk.get_script(script_id).version == 1
    # WHEN the workflow runs as code with other values
    calls = len(workflows.model.exchanges)
    started = sdk.run_workflow(agent_id=wpid, parameters=GRACE, run_with="code")
    assert started.run_id.startswith("wr_") and started.run_type == "workflow_run"
    replayed = workflows.wait(started.run_id)
    # THEN it completes with the output those values give, without a single model request
    assert replayed.status == "completed", replayed.failure_reason
    assert replayed.output == expected_output("Grace Hopper", "grace@example.com", "Enterprise")
    assert len(workflows.model.exchanges) == calls
    assert replayed.run_with == "code" and replayed.script_run is not None
    assert replayed.script_run.ai_fallback_triggered is False
    assert replayed.script_run.script_id == script_id
    assert replayed.script_run.script_revision_id is not None
    assert replayed.script_run.script_revision_id.startswith("sr_")
    # AND the timeline shows the replayed actions as code
    actions = [
        a for entry in sdk.get_run_timeline(started.run_id) if entry.block for a in entry.block.actions or []
    ]
    assert actions and {a.created_by for a in actions} == {"script"}
    # AND run_with null inherits the workflow's "code"
    inherited = workflows.wait(sdk.run_workflow(agent_id=wpid).run_id)
    assert inherited.status == "completed" and inherited.run_with == "code"
    assert len(workflows.model.exchanges) == calls


def test_workflow_and_script_errors_are_clear(workflows: Workflows) -> None:
    sdk = workflows.client()
    with pytest.raises(ApiError) as unknown:
        sdk.get_workflow("wpid_unknown")
    assert unknown.value.status_code == 404
    assert unknown.value.body == {"detail": "Workflow not found wpid_unknown"}
    with pytest.raises(ApiError) as no_script:
        sdk.get_script("s_unknown")
    assert no_script.value.status_code == 404 and no_script.value.body == {
        "detail": "Script not found s_unknown"
    }
    with pytest.raises(ApiError) as no_run:
        sdk.run_workflow(agent_id="wpid_unknown")
    assert no_run.value.status_code == 404
    with pytest.raises(BadRequestError) as refused:
        sdk.run_task(prompt="x", engine="skyvern-1.0", publish_workflow=True)
    assert "publish_workflow needs the engine skyvern-2.0" in str(refused.value.body)
    # run_script answers like Skyvern's open-source server
    with pytest.raises(ApiError) as not_implemented:
        sdk.scripts.run_script("s_any")
    assert not_implemented.value.status_code == 400
    assert not_implemented.value.body == {"detail": "Not implemented"}


def test_create_and_deploy_script_round_trip(workflows: Workflows) -> None:
    import base64

    sdk = workflows.client()
    created = sdk.create_script(
        files=[{"path": "src/main.py", "content": base64.b64encode(b"print('hi')\n").decode()}]
    )
    assert created.version == 1 and created.file_count == 1
    assert created.file_tree["src"].type == "directory"
    assert created.file_tree["src"].children["main.py"].size == 12  # type: ignore[index,union-attr]
    deployed = sdk.deploy_script(
        created.script_id, files=[{"path": "notes.txt", "content": base64.b64encode(b"v2").decode()}]
    )
    assert deployed.version == 2 and deployed.file_count == 2  # main.py kept beside notes.txt
    assert sdk.get_script(created.script_id).version == 2
    with pytest.raises(ApiError) as bad_plan:
        sdk.create_script(files=[{"path": "plan.json", "content": base64.b64encode(b"{}x").decode()}])
    assert bad_plan.value.status_code == 400
    assert "plan.json is not a valid replay plan" in str(bad_plan.value.body)
    with pytest.raises(ApiError) as escape:
        sdk.create_script(files=[{"path": "../escape.py", "content": ""}])
    assert escape.value.status_code == 400 and "leaves the script's directory" in str(escape.value.body)
    with pytest.raises(ApiError) as hidden:
        workflows.client(workflows.other_key).get_script(created.script_id)
    assert hidden.value.status_code == 404


def test_a_published_run_with_a_long_prompt_keeps_it_whole_in_its_plan(workflows: Workflows) -> None:
    # GIVEN a prompt long enough that the run stores it apart from its log
    prompt = PROMPT + "\n\nContext: " + "The customer prefers short confirmations. " * 2000
    sdk = workflows.client()
    submitted = sdk.run_task(
        prompt=prompt,
        url=workflows.site.url(f"/{PAGES}/order-1.html"),
        data_extraction_schema=ORDER_SCHEMA,
        publish_workflow=True,
    )
    run = workflows.wait(submitted.run_id)
    assert run.status == "completed", run.failure_reason
    # THEN the published plan's goal is the whole prompt, not the log's short echo of it
    files = {a.filename: a for a in sdk.get_run_artifacts(submitted.run_id, artifact_type=["script_file"])}  # type: ignore[attr-defined]
    assert files["plan.json"].signed_url is not None
    plan = ReplayPlan.from_json(httpx.get(files["plan.json"].signed_url, timeout=10).content)
    assert plan.goal == prompt


async def _code_run_as_the_viewer_shows_it(runtime: BrowserRuntime, app_url: str, key: str) -> dict[str, Any]:
    """Sign in at a run's app_url and read what its page says about the code run."""
    context = await runtime.browser.new_context()
    try:
        page = await context.new_page()
        await page.goto(app_url)
        await page.wait_for_url(re.compile(r"/signin\?next="))
        await page.get_by_label("API key").fill(key)
        await page.get_by_role("button", name="Sign in").click()
        await page.locator("dt", has_text="Runs as").wait_for()
        shown: dict[str, Any] = await page.evaluate(
            """() => ({
                runs_as: [...document.querySelectorAll("dt")]
                    .find((dt) => dt.textContent === "Runs as").nextElementSibling.textContent,
                actions: document.querySelectorAll("li.action").length,
                replayed: document.querySelectorAll("li.action .created-by-script").length,
            })"""
        )
        return shown
    finally:
        await context.close()


def test_a_changed_form_heals_into_a_new_revision_or_fails_naming_the_step(
    workflows: Workflows, runtime: BrowserRuntime, browser_loop: asyncio.AbstractEventLoop
) -> None:
    sdk = workflows.client()
    _, wpid = _published(workflows)
    script_id = sdk.get_workflow(wpid).model_extra["script_id"]  # type: ignore[index]
    # GIVEN the form changed: its button is renamed and a required field was added
    workflows.change_the_form()
    workflows.model.set_policy(HEALING)
    # WHEN it runs as code without ai_fallback
    calls = len(workflows.model.exchanges)
    strict = workflows.wait(sdk.run_workflow(agent_id=wpid, run_with="code", ai_fallback=False).run_id)
    # THEN it fails naming the step, with no model call
    assert strict.status == "failed"
    assert strict.failure_reason is not None and "step 3" in strict.failure_reason
    assert "Next" in strict.failure_reason
    assert len(workflows.model.exchanges) == calls
    assert sdk.get_script(script_id).version == 1
    # WHEN it runs as code with ai_fallback (the default)
    healed = workflows.wait(sdk.run_workflow(agent_id=wpid, run_with="code").run_id)
    # THEN the agent took over from the changed page and the run completed
    assert healed.status == "completed", healed.failure_reason
    assert healed.output == expected_output("Ada Lovelace", "ada@example.com", "Team")
    assert healed.script_run is not None and healed.script_run.ai_fallback_triggered is True
    assert len(workflows.model.exchanges) > calls
    # AND its page in the viewer says where the replay stopped and which actions were replayed
    shown = browser_loop.run_until_complete(
        _code_run_as_the_viewer_shows_it(runtime, healed.app_url, workflows.key)
    )
    assert shown["runs_as"].startswith(f"code: script {script_id}, revision ")
    assert "the agent took over after step 2" in shown["runs_as"], shown
    assert "Next" in shown["runs_as"], shown  # the reason: the recorded button is gone
    assert 0 < shown["replayed"] < shown["actions"], shown
    # AND the healed run is the script's new revision
    assert sdk.get_script(script_id).version == 2
    # AND the next code run replays it with no model call
    calls = len(workflows.model.exchanges)
    again = workflows.wait(sdk.run_workflow(agent_id=wpid, run_with="code", parameters=GRACE).run_id)
    assert again.status == "completed", again.failure_reason
    assert again.output == expected_output("Grace Hopper", "grace@example.com", "Enterprise")
    assert again.script_run is not None and again.script_run.ai_fallback_triggered is False
    assert len(workflows.model.exchanges) == calls
