"""Builders of domain events for tests: valid runs without going through the API."""

from __future__ import annotations

import itertools
from typing import Any

from altostratus.adapters.sqlite_db import SQLiteDatabase
from altostratus.domain import events as ev
from altostratus.domain.enums import ArtifactType, Engine, RunType, StepStatus
from altostratus.domain.run_request import RunTaskRequest
from altostratus.domain.view import fold
from altostratus.ports.event_log import EventLog


def created(
    org_id: str = "o_1",
    *,
    prompt: str = "Find the price",
    engine: Engine = Engine.SKYVERN_V2,
    run_type: RunType | None = None,
    webhook_url: str | None = None,
    **request: Any,
) -> ev.Draft:
    req = RunTaskRequest(prompt=prompt, engine=engine, webhook_url=webhook_url, **request)
    kind = run_type or engine.run_type
    extra: dict[str, Any] = {}
    echo = req.echo()
    if kind is RunType.WORKFLOW_RUN:
        extra = {"workflow_id": "wpid_1", "run_with": "agent", "ai_fallback": False}
        echo = {**echo, "workflow_id": "wpid_1"}
    return ev.Draft(
        data=ev.RunCreated(
            org_id=org_id,
            run_type=kind,
            engine=None if kind is RunType.WORKFLOW_RUN else req.engine,
            request=req.model_dump(mode="json"),
            request_echo=echo,
            title=req.title,
            webhook_url=req.webhook_url,
            max_steps=req.effective_max_steps,
            max_screenshot_scrolls=req.max_screenshot_scrolls,
            **extra,
        )
    )


_artifact_numbers = itertools.count(1_000_000)


def d(data: Any, event_id: str | None = None) -> ev.Draft:
    return ev.Draft(data=data, event_id=event_id)


def step(step_id: str, order: int, *, status: StepStatus = StepStatus.COMPLETED) -> list[ev.Draft]:
    """A whole AI step: started, one click planned and executed, a screenshot, finished."""
    return [
        d(ev.StepStarted(step_id=step_id, order=order, url="https://example.com/")),
        d(
            ev.ActionPlanned(
                step_id=step_id,
                action_order=1,
                action_type="click",
                tool="click",
                reasoning="The button leads to the price",
                element_id="e12",
            )
        ),
        d(ev.ActionExecuted(step_id=step_id, action_order=1, status="completed", summary="URL changed")),
        d(
            ev.ArtifactStored(
                artifact_id=f"a_{next(_artifact_numbers)}",
                artifact_type=ArtifactType.SCREENSHOT_ACTION,
                uri=f"file:///tmp/{step_id}.png",
                step_id=step_id,
                content_type="image/png",
                file_size=10,
            )
        ),
        d(
            ev.StepFinished(
                step_id=step_id, status=status, usage=ev.Usage(input_tokens=100, output_tokens=20)
            )
        ),
    ]


def assert_every_view_is_its_fold(db: SQLiteDatabase, event_log: EventLog) -> int:
    """Every run in the database: the stored view equals the fold of the run's log. Returns how
    many runs were checked (so a caller can tell the check saw something)."""
    rows = db.connection().execute("SELECT run_id FROM views").fetchall()
    for (run_id,) in rows:
        assert event_log.get_view(run_id) == fold(event_log.read(run_id)), run_id
    return len(rows)
