"""The run timeline: one entry per AI step (with its actions, screenshots and reasoning) and
one per recorded thought, in ascending `order` — a pure fold of the run's events.

Entries follow Skyvern's timeline shape (`type`, `block`/`thought`, `children`, `created_at`,
`modified_at`) so the SDK parses them, plus the seed's `order` and `status`.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from altostratus.domain import events as ev
from altostratus.domain.enums import ActionStatus, ActionType, StepStatus


class TimelineAction(BaseModel):
    model_config = ConfigDict(extra="allow")
    action_type: ActionType
    status: ActionStatus = ActionStatus.PENDING
    action_id: str
    step_id: str
    step_order: int
    action_order: int
    reasoning: str | None = None
    intention: str | None = None
    element_id: str | None = None
    text: str | None = None
    option: dict[str, Any] | None = None
    response: str | None = None
    screenshot_artifact_id: str | None = None
    organization_id: str
    task_id: str
    created_at: datetime
    modified_at: datetime
    # "script": done by a replayed plan (code), not chosen by the model.
    created_by: str = "agent"


class TimelineBlock(BaseModel):
    model_config = ConfigDict(extra="allow")
    workflow_run_block_id: str
    workflow_run_id: str
    organization_id: str
    block_type: Literal["task"] = "task"
    label: str
    description: str | None = None
    status: str
    output: Any = None
    failure_reason: str | None = None
    task_id: str
    url: str | None = None
    navigation_goal: str | None = None
    actions: list[TimelineAction] = Field(default_factory=list)
    screenshot_artifact_ids: list[str] = Field(default_factory=list)
    duration: float | None = None
    created_at: datetime
    modified_at: datetime


class TimelineThought(BaseModel):
    model_config = ConfigDict(extra="allow")
    thought_id: str
    task_id: str
    organization_id: str
    workflow_run_id: str | None = None
    thought: str | None = None
    observation: str | None = None
    answer: str | None = None
    thought_type: str | None = None
    output: dict[str, Any] | None = None
    created_at: datetime
    modified_at: datetime


class TimelineEntry(BaseModel):
    type: Literal["block", "thought"]
    order: int
    status: str
    block: TimelineBlock | None = None
    thought: TimelineThought | None = None
    children: list[TimelineEntry] = Field(default_factory=list)
    created_at: datetime
    modified_at: datetime


def _step_status(status: StepStatus) -> str:
    return status.value


def timeline(events: Iterable[ev.Event]) -> list[TimelineEntry]:
    """The timeline of one run, oldest entry first."""
    entries: list[TimelineEntry] = []
    steps: dict[str, TimelineEntry] = {}
    step_orders: dict[str, int] = {}
    actions: dict[tuple[str, int], TimelineAction] = {}
    run_id = org_id = ""
    goal: str | None = None
    last_output: Any = None

    def touch(entry: TimelineEntry, at: datetime) -> None:
        entry.modified_at = at
        if entry.block is not None:
            entry.block.modified_at = at

    for event in events:
        data = event.data
        match data:
            case ev.RunCreated():
                run_id, org_id = event.run_id, data.org_id
                # A long prompt kept apart from the log leaves its excerpt in the echo.
                goal = data.request.get("prompt") or data.request_echo.get("prompt")
            case ev.StepStarted():
                block = TimelineBlock(
                    workflow_run_block_id=data.step_id,
                    workflow_run_id=run_id,
                    organization_id=org_id,
                    label=f"step {data.order}",
                    status=StepStatus.RUNNING.value,
                    task_id=run_id,
                    url=data.url,
                    navigation_goal=data.goal or goal,
                    created_at=event.at,
                    modified_at=event.at,
                )
                entry = TimelineEntry(
                    type="block",
                    order=len(entries) + 1,
                    status=StepStatus.RUNNING.value,
                    block=block,
                    created_at=event.at,
                    modified_at=event.at,
                )
                steps[data.step_id] = entry
                step_orders[data.step_id] = data.order
                entries.append(entry)
            case ev.StepFinished() if data.step_id in steps:
                entry = steps[data.step_id]
                entry.status = _step_status(data.status)
                assert entry.block is not None
                entry.block.status = entry.status
                entry.block.failure_reason = data.failure_reason
                if data.duration_ms is not None:
                    entry.block.duration = data.duration_ms / 1000
                touch(entry, event.at)
            case ev.ActionPlanned() if data.step_id in steps:
                entry = steps[data.step_id]
                assert entry.block is not None
                action = TimelineAction(
                    action_type=data.action_type,
                    action_id=f"{data.step_id}:{data.action_order}",
                    step_id=data.step_id,
                    step_order=step_orders[data.step_id],
                    action_order=data.action_order,
                    reasoning=data.reasoning,
                    intention=data.intention,
                    element_id=data.element_id,
                    text=data.text,
                    option={"label": data.option} if data.option is not None else None,
                    organization_id=org_id,
                    task_id=run_id,
                    created_at=event.at,
                    modified_at=event.at,
                    created_by=data.created_by,
                )
                actions[(data.step_id, data.action_order)] = action
                entry.block.actions.append(action)
                if data.reasoning and not entry.block.description:
                    entry.block.description = data.reasoning
                touch(entry, event.at)
            case ev.ActionExecuted() if (data.step_id, data.action_order) in actions:
                action = actions[(data.step_id, data.action_order)]
                action.status = data.status
                action.response = data.summary
                action.screenshot_artifact_id = data.screenshot_artifact_id
                action.modified_at = event.at
                touch(steps[data.step_id], event.at)
            case ev.ArtifactStored() if data.step_id in steps and data.artifact_type.is_screenshot:
                entry = steps[data.step_id]
                assert entry.block is not None
                entry.block.screenshot_artifact_ids.append(data.artifact_id)
                touch(entry, event.at)
            case ev.OutputProduced():
                last_output = data.output
                if data.step_id in steps:
                    step_block = steps[data.step_id].block
                    assert step_block is not None
                    step_block.output = data.output
            case ev.ThoughtRecorded():
                thought = TimelineThought(
                    thought_id=data.thought_id,
                    task_id=run_id,
                    organization_id=org_id,
                    thought=data.thought,
                    observation=data.observation,
                    answer=data.answer,
                    thought_type=data.thought_type,
                    output={"checklist": list(data.checklist)} if data.checklist else None,
                    created_at=event.at,
                    modified_at=event.at,
                )
                entries.append(
                    TimelineEntry(
                        type="thought",
                        order=len(entries) + 1,
                        status="completed",
                        thought=thought,
                        created_at=event.at,
                        modified_at=event.at,
                    )
                )
            case (
                ev.RunCompleted() | ev.RunFailed() | ev.RunTerminated() | ev.RunTimedOut() | ev.RunCanceled()
            ):
                # A step still open when the run ends ends with it.
                ended = StepStatus.CANCELED if isinstance(data, ev.RunCanceled) else StepStatus.FAILED
                for entry in steps.values():
                    if entry.status == StepStatus.RUNNING.value:
                        entry.status = ended.value
                        assert entry.block is not None
                        entry.block.status = ended.value
                        touch(entry, event.at)
                if isinstance(data, ev.RunCompleted) and entries:
                    final = next((e for e in reversed(entries) if e.block is not None), None)
                    if final is not None and final.block is not None and final.block.output is None:
                        final.block.output = data.output if data.output is not None else last_output
            case _:
                pass
    return entries
