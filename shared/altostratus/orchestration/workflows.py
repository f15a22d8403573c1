"""Publishing a run as a workflow, and healing a code run's script, when the run completes.

Both happen in Finish run, before the run's terminal event, so the run's view and its webhook
name the workflow: nothing here needs a browser or a model (the AWS run_finish function runs
it). A run that did not complete publishes nothing, so a failure is never cached.

- publish (a run_task with `publish_workflow`): the run's log compiles to a replay plan; the
  plan and its Playwright export become the first revision of a new script, stored as two
  `script_file` artifacts of the run; the workflow (`wpid_`) runs as code by default when the
  plan compiled, else with the agent.
- heal (a code run whose replay handed over to the agent, and completed): the steps the replay
  did, followed by what the agent did from there, become the script's next revision.
"""

from __future__ import annotations

import hashlib
import logging
from dataclasses import dataclass

from altostratus.domain import events as ev
from altostratus.domain import workflows as w
from altostratus.domain.enums import ArtifactType, RunStatus, RunType
from altostratus.domain.ids import IdFactory
from altostratus.domain.lifecycle import RunOutcome
from altostratus.domain.replay.compile import PlanNotCompilableError, compile_plan
from altostratus.domain.replay.export import export_playwright
from altostratus.domain.replay.plan import ReplayPlan
from altostratus.domain.view import RunView
from altostratus.ports.artifacts import ArtifactStore
from altostratus.ports.event_log import EventLog
from altostratus.ports.request_parts import with_stored_parts
from altostratus.ports.workflow_log import WorkflowLog

logger = logging.getLogger("altostratus.orchestration")

_MIME = {w.PLAN_PATH: "application/json", w.EXPORT_PATH: "text/x-python"}


def published_event_id(run_id: str) -> str:
    return f"{run_id}:published"


def workflow_spec(view: RunView, plan: ReplayPlan | None) -> w.WorkflowSpec:
    request = view.request
    prompt = str(request.get("prompt") or "")
    parameters = tuple(
        w.WorkflowParameter(key=p.name, default_value=p.default, description=p.description)
        for p in (plan.parameters if plan else ())
        if p.type == "string"
    )
    first_line = prompt.strip().splitlines()[0][:120] if prompt.strip() else view.run_id
    return w.WorkflowSpec(
        title=view.title or first_line,
        goal=prompt,
        url=request.get("url"),
        data_extraction_schema=request.get("data_extraction_schema"),
        error_code_mapping=request.get("error_code_mapping"),
        parameters=parameters,
        max_steps=view.max_steps,
        totp_identifier=request.get("totp_identifier"),
    )


def _completed(events: list[ev.Event], outcome: RunOutcome) -> list[ev.Event]:
    """The log as it will read once the run's terminal event is written."""
    last = events[-1]
    ending = ev.Event(
        event_id=f"{last.run_id}:finished",
        run_id=last.run_id,
        seq=last.seq + 1,
        org_id=last.org_id,
        at=last.at,
        data=ev.RunCompleted(output=outcome.output),
    )
    return [*events, ending]


def _agent_part(events: list[ev.Event]) -> list[ev.Event]:
    """The log without the replayed actions (what the agent did after taking over)."""
    replayed = {
        (e.data.step_id, e.data.action_order)
        for e in events
        if isinstance(e.data, ev.ActionPlanned) and e.data.created_by == "script"
    }
    return [
        e
        for e in events
        if not (
            isinstance(e.data, ev.ActionPlanned | ev.ActionExecuted)
            and (e.data.step_id, e.data.action_order) in replayed
        )
    ]


def healed_plan(old: ReplayPlan, agent: ReplayPlan, steps_done: int, run_id: str) -> ReplayPlan:
    """The replayed steps that worked, then the agent's; the agent's extraction when it has one."""
    names = {p.name for p in old.parameters}
    return old.model_copy(
        update={
            "source_run_id": run_id,
            "steps": (*old.steps[:steps_done], *agent.steps),
            "parameters": (*old.parameters, *(p for p in agent.parameters if p.name not in names)),
            "extraction": agent.extraction or old.extraction,
            "recorded_output": agent.recorded_output,
        }
    )


@dataclass
class WorkflowPublisher:
    event_log: EventLog
    workflows: WorkflowLog
    artifacts: ArtifactStore
    ids: IdFactory

    def before_finish(self, view: RunView, outcome: RunOutcome) -> None:
        """Publish or heal, as the run asks, when `outcome` completes it."""
        if outcome.status is not RunStatus.COMPLETED or view.is_terminal:
            return
        if view.run_type is RunType.WORKFLOW_RUN:
            if view.ai_fallback_triggered and view.published_script_revision_id is None:
                self.heal(view, outcome)
        elif view.request.get("publish_workflow") and view.workflow_id is None:
            self.publish(view, outcome)

    def load_plan(self, org_id: str, script_id: str, revision_id: str | None = None) -> ReplayPlan | None:
        """The plan of the script's revision (its newest when None); None when there is none."""
        script = self.workflows.script(script_id)
        if script is None or script.org_id != org_id:
            return None
        revision = (
            next((r for r in script.revisions if r.script_revision_id == revision_id), None)
            if revision_id
            else script.latest
        )
        found = revision.file(w.PLAN_PATH) if revision else None
        return ReplayPlan.from_json(self.artifacts.get(found.uri)) if found else None

    def _log(self, view: RunView) -> list[ev.Event]:
        """The run's log with its whole request: a long prompt or schema is stored apart, and
        the plan's goal and extraction must come from the request as submitted."""
        events = self.event_log.read(view.run_id)
        whole = with_stored_parts(view, self.artifacts)
        if whole is view:
            return events
        return [
            e.model_copy(update={"data": e.data.model_copy(update={"request": whole.request})})
            if isinstance(e.data, ev.RunCreated)
            else e
            for e in events
        ]

    # -- publish --

    def publish(self, view: RunView, outcome: RunOutcome) -> None:
        events = self._log(view)
        plan: ReplayPlan | None = None
        refused: str | None = None
        try:
            plan = compile_plan(_completed(events, outcome))
        except PlanNotCompilableError as exc:
            refused = exc.reason
            logger.info("run %s published without a plan: %s", view.run_id, exc.reason)
        wpid = self.ids.new(w.WORKFLOW_PREFIX)
        drafts: list[ev.Draft] = []
        script_id = revision_id = None
        if plan is not None:
            script_id = self.ids.new(w.SCRIPT_PREFIX)
            files, stored = self._files(view, script_id, plan)
            revision_id = self.ids.new(w.REVISION_PREFIX)
            self.workflows.append(
                script_id,
                [
                    w.ScriptCreated(org_id=view.org_id, workflow_permanent_id=wpid, run_id=view.run_id),
                    w.ScriptRevisionAdded(
                        script_revision_id=revision_id,
                        version=1,
                        files=files,
                        run_id=view.run_id,
                        origin="published",
                    ),
                ],
            )
            drafts += stored
        created = w.WorkflowCreated(
            org_id=view.org_id,
            workflow_id=self.ids.new(w.WORKFLOW_VERSION_PREFIX),
            spec=workflow_spec(view, plan),
            run_with="code" if plan is not None else "agent",
            source_run_id=view.run_id,
        )
        attached = [w.WorkflowScriptAttached(script_id=script_id)] if script_id else []
        self.workflows.append(wpid, [created, *attached])
        published = ev.WorkflowPublished(
            workflow_permanent_id=wpid,
            script_id=script_id,
            script_revision_id=revision_id,
            not_compiled=refused,
        )
        drafts.append(ev.Draft(data=published, event_id=published_event_id(view.run_id)))
        self.event_log.append(view.run_id, drafts)

    # -- heal --

    def heal(self, view: RunView, outcome: RunOutcome) -> None:
        if view.script_id is None or view.workflow_id is None:
            return
        old = self.load_plan(view.org_id, view.script_id, view.script_revision_id)
        if old is None:
            return
        events = self._log(view)
        try:
            agent = compile_plan(_completed(_agent_part(events), outcome))
        except PlanNotCompilableError as exc:
            logger.info("run %s healed, but its new steps do not compile: %s", view.run_id, exc.reason)
            return
        plan = healed_plan(old, agent, view.fallback_steps_done or 0, view.run_id)
        script = self.workflows.script(view.script_id)
        assert script is not None
        files, stored = self._files(view, script.script_id, plan)
        revision_id = self.ids.new(w.REVISION_PREFIX)
        version = (script.latest.version if script.latest else 0) + 1
        revision = w.ScriptRevisionAdded(
            script_revision_id=revision_id, version=version, files=files, run_id=view.run_id, origin="healed"
        )
        self.workflows.append(script.script_id, [revision])
        published = ev.WorkflowPublished(
            workflow_permanent_id=view.workflow_id, script_id=script.script_id, script_revision_id=revision_id
        )
        self.event_log.append(
            view.run_id, [*stored, ev.Draft(data=published, event_id=published_event_id(view.run_id))]
        )

    def _files(
        self, view: RunView, script_id: str, plan: ReplayPlan
    ) -> tuple[tuple[w.ScriptFile, ...], list[ev.Draft]]:
        """The plan and its export stored as the run's `script_file` artifacts."""
        files: list[w.ScriptFile] = []
        drafts: list[ev.Draft] = []
        now = self.workflows.now()
        for path, text in ((w.PLAN_PATH, plan.to_json()), (w.EXPORT_PATH, export_playwright(plan))):
            data = text.encode()
            artifact_id = self.ids.new("a")
            uri = self.artifacts.put(
                f"{view.org_id}/scripts/{script_id}/{artifact_id}/{path}", data, content_type=_MIME[path]
            )
            digest = hashlib.sha256(data).hexdigest()
            files.append(
                w.ScriptFile(
                    path=path,
                    artifact_id=artifact_id,
                    uri=uri,
                    size=len(data),
                    content_hash=f"sha256:{digest}",
                    mime_type=_MIME[path],
                    created_at=now,
                )
            )
            stored = ev.ArtifactStored(
                artifact_id=artifact_id,
                artifact_type=ArtifactType.SCRIPT_FILE,
                uri=uri,
                checksum=digest,
                file_size=len(data),
                content_type=_MIME[path],
                filename=path,
            )
            drafts.append(ev.Draft(data=stored, event_id=f"{view.run_id}:script_file:{artifact_id}"))
        return tuple(files), drafts
