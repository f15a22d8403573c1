"""The official SDK works against `alto serve` with only base_url and api_key changed.

Runs reach their end here by appending domain events to the run's log — exactly what the
executor does — never by faking responses.
"""

from __future__ import annotations

import asyncio
import threading
import time
from typing import Any

import httpx
import pytest
from skyvern import Skyvern
from skyvern.client.core.api_error import ApiError
from skyvern.client.errors import NotFoundError, UnprocessableEntityError
from skyvern.schemas.run_enums import RunEngine

from altostratus.domain import events as ev
from altostratus.domain.enums import ArtifactType, Engine, RunType, StepStatus
from altostratus.domain.view import fold
from altostratus.ports.event_log import RunQuery
from tests.compat.conftest import Compat
from tests.support.runs import created, d, step


def _finish(compat: Compat, run_id: str, *events: ev.EventData) -> None:
    compat.store.event_log.append(run_id, [d(e) for e in events])


def _assert_view_is_fold(compat: Compat, run_id: str) -> None:
    assert compat.store.event_log.get_view(run_id) == fold(compat.store.event_log.read(run_id))


def _play_executor(compat: Compat, prompt: str) -> None:
    """Waits for the run with this prompt to be queued, then records what an executor does."""
    org = compat.store.keys.org_by_name("compat")
    assert org is not None
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline:
        found = compat.store.event_log.list_runs(org.org_id, RunQuery(page_size=1, search=prompt)).runs
        if found:
            _finish(
                compat,
                found[0].run_id,
                ev.RunStarted(),
                ev.OutputProduced(output={"title": "Example Domain"}),
                ev.RunCompleted(),
            )
            return
        time.sleep(0.02)


def test_high_level_client_sends_explicit_nulls_and_waits_for_completion(compat: Compat) -> None:
    prompt = "What is the page title? (high-level client)"
    executor = threading.Thread(target=_play_executor, args=(compat, prompt))
    executor.start()

    async def scenario() -> Any:
        skyvern = Skyvern(base_url=compat.server.base_url, api_key=compat.key)
        return await skyvern.run_task(
            prompt=prompt,
            url="https://example.com",
            engine=RunEngine.skyvern_v2,
            wait_for_completion=True,
            timeout=60,
        )

    run = asyncio.run(scenario())
    executor.join()
    assert run.status == "completed"
    assert run.output == {"title": "Example Domain"}
    assert run.run_type == "task_v2"
    assert run.run_request.prompt == prompt
    _assert_view_is_fold(compat, run.run_id)


@pytest.mark.parametrize(("engine", "run_type"), [("skyvern-1.0", "task_v1"), ("skyvern_v2", "task_v2")])
def test_run_task_accepts_both_engine_spellings(compat: Compat, engine: str, run_type: str) -> None:
    run = compat.client().run_task(prompt="Find the price", engine=engine, url="https://example.com")  # type: ignore[arg-type]
    assert run.status == "queued"
    assert run.run_type == run_type
    _assert_view_is_fold(compat, run.run_id)


@pytest.mark.parametrize("run_type", list(RunType))
def test_get_run_parses_every_run_type(compat: Compat, run_type: RunType) -> None:
    org = compat.store.keys.org_by_name("compat")
    assert org is not None
    run_id = f"{run_type.id_prefix}_{compat.store.ids.number()}"
    engine = {
        RunType.OPENAI_CUA: Engine.OPENAI_CUA,
        RunType.ANTHROPIC_CUA: Engine.ANTHROPIC_CUA,
        RunType.UI_TARS: Engine.UI_TARS,
        RunType.TASK_V1: Engine.SKYVERN_V1,
    }.get(run_type, Engine.SKYVERN_V2)
    compat.store.event_log.append(
        run_id, [created(org.org_id, engine=engine, run_type=run_type), d(ev.RunQueued())]
    )
    _finish(
        compat,
        run_id,
        ev.RunStarted(),
        ev.RunFailed(
            reason="The site refused the login",
            errors=(ev.RunError(error_code="LOGIN_FAILED", error_type="USER_DEFINED_ERROR"),),
        ),
    )
    run = compat.client().get_run(run_id)
    assert run.run_type == run_type.value
    assert run.status == "failed"
    assert run.failure_reason == "The site refused the login"
    assert run.errors[0]["error_code"] == "LOGIN_FAILED"
    if run_type is RunType.WORKFLOW_RUN:
        assert run.run_request.workflow_id == "wpid_1"
    else:
        assert run.run_request.prompt


def _spent(step_id: str, order: int, usage: ev.Usage) -> list[ev.Draft]:
    return [
        d(ev.StepStarted(step_id=step_id, order=order, url="https://example.com/")),
        d(ev.StepFinished(step_id=step_id, status=StepStatus.COMPLETED, usage=usage)),
    ]


def test_get_run_carries_the_runs_model_tokens_and_dollars(compat: Compat) -> None:
    client = compat.client()
    run = client.run_task(prompt="Find the price, then tell me what it cost")
    assert run.model_usage == {  # nothing spent before a step
        "input_tokens": 0,
        "cached_input_tokens": 0,
        "cache_write_tokens": 0,
        "output_tokens": 0,
        "llm_calls": 0,
        "cost_usd": 0.0,
    }
    first = ev.Usage(
        input_tokens=1200,
        cached_input_tokens=800,
        cache_write_tokens=300,
        output_tokens=90,
        cost_usd=0.0123,
        llm_calls=1,
    )
    second = ev.Usage(input_tokens=700, output_tokens=40, cost_usd=0.0045, llm_calls=2)
    compat.store.event_log.append(
        run.run_id, [d(ev.RunStarted()), *_spent("stp_a", 1, first), *_spent("stp_b", 2, second)]
    )
    got = client.get_run(run.run_id)
    assert got.model_usage == {
        "input_tokens": 1900,
        "cached_input_tokens": 800,
        "cache_write_tokens": 300,
        "output_tokens": 130,
        "llm_calls": 3,
        "cost_usd": 0.0168,
    }
    _assert_view_is_fold(compat, run.run_id)


def test_cancel_run_cancels_and_is_a_no_op_afterwards(compat: Compat) -> None:
    client = compat.client()
    run = client.run_task(prompt="Find the price")
    assert client.cancel_run(run.run_id) is None
    assert client.get_run(run.run_id).status == "canceled"
    client.cancel_run(run.run_id)
    assert client.get_run(run.run_id).status == "canceled"
    _assert_view_is_fold(compat, run.run_id)


def test_timeline_and_artifacts_with_a_type_filter(compat: Compat) -> None:
    client = compat.client()
    run = client.run_task(prompt="Find the price")
    view = compat.store.event_log.get_view(run.run_id)
    assert view is not None
    uri = compat.store.artifacts.put(
        f"{view.org_id}/{run.run_id}/a_1.html", b"<h1>$3</h1>", content_type="text/html"
    )
    html_id = f"a_{compat.store.ids.number()}"
    _finish(compat, run.run_id, ev.RunStarted())
    compat.store.event_log.append(run.run_id, step("stp_1", 1) + step("stp_2", 2))
    _finish(
        compat,
        run.run_id,
        ev.ArtifactStored(
            artifact_id=html_id,
            artifact_type=ArtifactType.HTML_SCRAPE,
            uri=uri,
            content_type="text/html",
            file_size=11,
        ),
        ev.RunCompleted(output={"price": "$3"}),
    )

    timeline = client.get_run_timeline(run.run_id)
    assert [entry.type for entry in timeline] == ["block", "block"]
    assert [entry.order for entry in timeline] == [1, 2]  # type: ignore[attr-defined]
    assert timeline[0].block is not None and timeline[0].block.actions[0].action_type == "click"

    html = client.get_run_artifacts(run.run_id, artifact_type="html_scrape")
    assert [a.artifact_id for a in html] == [html_id]
    shots = client.get_run_artifacts(run.run_id, artifact_type=["screenshot_action"])
    assert len(shots) == 2 and all(a.artifact_type == "screenshot_action" for a in shots)

    got = client.get_run(run.run_id)
    assert got.status == "completed" and got.step_count == 2
    assert len(got.screenshot_urls or []) == 2

    content = httpx.get(html[0].signed_url, timeout=10)
    assert content.status_code == 200 and content.content == b"<h1>$3</h1>"
    keyed = httpx.get(
        f"{compat.server.base_url}/v1/artifacts/{html_id}/content", headers={"x-api-key": compat.key}
    )
    assert keyed.content == b"<h1>$3</h1>" and keyed.headers["content-type"] == "text/html"
    _assert_view_is_fold(compat, run.run_id)


def test_get_runs_v2_parses_the_listing_and_its_cursor_header_pages_on(compat: Compat) -> None:
    client = compat.client()
    ids = [client.run_task(prompt=f"Compare plans {n}", title=f"Listing compat {n}").run_id for n in range(3)]
    client.cancel_run(ids[0])
    runs = client.get_runs_v2(search_key="LISTING COMPAT", page_size=2)
    assert [r.run_id for r in runs] == [ids[2], ids[1]]
    assert (runs[0].status, runs[0].title, runs[0].task_run_type) == ("queued", "Listing compat 2", "task_v2")
    raw = client.with_raw_response.get_runs_v2(search_key="listing compat", page_size=2)
    cursor = raw.headers["x-next-cursor"]
    rest = httpx.get(
        f"{compat.server.base_url}/v1/runs",
        params={"search_key": "listing compat", "page_size": 2, "cursor": cursor},
        headers={"x-api-key": compat.key},
        timeout=10,
    )
    assert rest.status_code == 200 and "x-next-cursor" not in rest.headers
    assert [(r["run_id"], r["status"]) for r in rest.json()] == [(ids[0], "canceled")]
    assert [r.run_id for r in client.get_runs_v2(search_key="compare PLANS 1")] == [ids[1]]
    assert [r.run_id for r in client.get_runs_v2(search_key=ids[2])] == [ids[2]]
    assert compat.client(key=compat.other_key).get_runs_v2(search_key="listing compat") == []


def test_retry_run_webhook_without_a_url_is_a_400(compat: Compat) -> None:
    client = compat.client()
    run = client.run_task(prompt="Find the price")
    client.cancel_run(run.run_id)
    with pytest.raises(ApiError) as caught:
        client.retry_run_webhook(run.run_id)
    assert caught.value.status_code == 400
    assert "no webhook_url" in caught.value.body["detail"]


def test_errors_surface_as_the_sdks_typed_errors(compat: Compat) -> None:
    with pytest.raises(ApiError) as forbidden:
        compat.client(key="alto_not_a_key").get_run("tsk_1")
    assert forbidden.value.status_code == 403
    assert forbidden.value.body == {"detail": "Invalid credentials"}

    with pytest.raises(NotFoundError):
        compat.client().get_run("tsk_404")

    run = compat.client().run_task(prompt="mine")
    with pytest.raises(NotFoundError):
        compat.client(key=compat.other_key).get_run(run.run_id)

    with pytest.raises(UnprocessableEntityError) as invalid:
        compat.client().run_task(prompt="", url="ftp://example.com")
    fields = {tuple(e["loc"]) for e in invalid.value.body["detail"]}
    assert fields == {("body", "prompt"), ("body", "url")}
