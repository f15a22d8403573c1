"""The workflow-log contract (see altostratus.ports.workflow_log) over SQLite and DynamoDB:
the fold, the kinds kept apart, listings per organization newest first, and conditional appends."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path

import pytest

from altostratus.adapters.dynamodb_workflow_log import DynamoDBWorkflowLog
from altostratus.adapters.sqlite_db import SQLiteDatabase
from altostratus.adapters.sqlite_workflow_log import SQLiteWorkflowLog
from altostratus.domain import workflows as w
from altostratus.ports.errors import SequenceConflictError
from altostratus.ports.workflow_log import WorkflowLog
from tests.support.aws import moto_aws
from tests.support.clock import FakeClock


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture(params=["sqlite", "dynamodb"])
def log(request: pytest.FixtureRequest, tmp_path: Path, clock: FakeClock) -> Iterator[WorkflowLog]:
    if request.param == "sqlite":
        db = SQLiteDatabase(tmp_path / "alto.db")
        yield SQLiteWorkflowLog(db, clock)
        db.close()
    else:
        with moto_aws() as aws:
            yield DynamoDBWorkflowLog(aws.dynamodb, state_table=aws.state_table, clock=clock)


def _workflow(log: WorkflowLog, wpid: str, org: str = "o_1") -> w.CatalogView:
    spec = w.WorkflowSpec(
        title="Order a mug",
        goal="Order the blue mug",
        url="https://shop.example/",
        parameters=(w.WorkflowParameter(key="name", default_value="Ada"),),
    )
    return log.append(wpid, [w.WorkflowCreated(org_id=org, workflow_id=f"w_{wpid}", spec=spec)])


def _file(clock: FakeClock, path: str) -> w.ScriptFile:
    return w.ScriptFile(
        path=path,
        artifact_id=f"a_{path}",
        uri=f"file:///{path}",
        size=3,
        content_hash="sha256:abc",
        mime_type="application/json",
        created_at=clock.now(),
    )


def test_a_workflow_and_a_script_are_the_fold_of_their_events(log: WorkflowLog, clock: FakeClock) -> None:
    created = _workflow(log, "wpid_1")
    assert isinstance(created, w.WorkflowView) and created.run_with == "agent" and created.ai_fallback
    log.append("s_1", [w.ScriptCreated(org_id="o_1", workflow_permanent_id="wpid_1", run_id="tsk_v2_1")])
    clock.advance(timedelta(seconds=1))
    revision = w.ScriptRevisionAdded(
        script_revision_id="sr_1", version=1, files=(_file(clock, "plan.json"),), run_id="tsk_v2_1"
    )
    script = log.append("s_1", [revision])
    attached = log.append("wpid_1", [w.WorkflowScriptAttached(script_id="s_1", run_with="code")])
    assert attached == w.fold(log.read("wpid_1")) == log.workflow("wpid_1")
    assert script == w.fold(log.read("s_1")) == log.script("s_1")
    assert isinstance(script, w.ScriptView) and script.latest is not None
    assert script.latest.script_revision_id == "sr_1" and script.latest.file("plan.json") is not None
    assert (
        isinstance(attached, w.WorkflowView) and attached.run_with == "code" and attached.script_id == "s_1"
    )
    # Each id reads only as its own kind; unknown ids read as nothing.
    assert log.script("wpid_1") is None and log.workflow("s_1") is None
    assert log.get("wpid_unknown") is None and log.read("wpid_unknown") == []


def test_revisions_follow_one_another(log: WorkflowLog, clock: FakeClock) -> None:
    log.append("s_2", [w.ScriptCreated(org_id="o_1")])
    first = w.ScriptRevisionAdded(script_revision_id="sr_a", version=1, files=(_file(clock, "main.py"),))
    log.append("s_2", [first])
    with pytest.raises(w.WorkflowError):
        log.append("s_2", [first])  # version 1 again
    second = w.ScriptRevisionAdded(script_revision_id="sr_b", version=2, files=(), origin="healed")
    view = log.script("s_2")
    assert view is not None
    healed = log.append("s_2", [second], expected_version=view.version)
    assert isinstance(healed, w.ScriptView)
    assert [r.script_revision_id for r in healed.revisions] == ["sr_a", "sr_b"]
    with pytest.raises(SequenceConflictError):
        log.append(
            "s_2", [w.ScriptRevisionAdded(script_revision_id="sr_c", version=3, files=())], expected_version=1
        )
    with pytest.raises(w.WorkflowError):
        log.append("s_3", [second])  # a revision of a script that was never created


def test_listings_are_per_organization_and_kind_newest_first(log: WorkflowLog, clock: FakeClock) -> None:
    for n in (1, 2, 3):
        _workflow(log, f"wpid_{n}")
        clock.advance(timedelta(seconds=1))
    _workflow(log, "wpid_9", org="o_2")
    log.append("s_1", [w.ScriptCreated(org_id="o_1")])
    assert [v.workflow_permanent_id for v in log.list_workflows("o_1")] == ["wpid_3", "wpid_2", "wpid_1"]
    assert [v.workflow_permanent_id for v in log.list_workflows("o_1", offset=1, limit=1)] == ["wpid_2"]
    assert [v.workflow_permanent_id for v in log.list_workflows("o_2")] == ["wpid_9"]
    assert [v.script_id for v in log.list_scripts("o_1")] == ["s_1"]
    assert log.list_scripts("o_2") == [] and log.list_workflows("o_3") == []


def test_script_paths_stay_inside_the_script() -> None:
    assert w.normalize_path("src/./main.py") == "src/main.py"
    for bad in ("", "/etc/passwd", "../x.py", "a/../../x", "run.sh"):
        with pytest.raises(w.ScriptFileError):
            w.normalize_path(bad)
