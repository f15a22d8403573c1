"""Reading, canceling and inspecting runs through the API; auth and isolation."""

from __future__ import annotations

import json
from urllib.parse import urlsplit

import pytest

from altostratus.api.errors import INTERNAL_ERROR
from altostratus.domain import events as ev
from altostratus.domain.enums import ArtifactType
from altostratus.runtimes.local import LocalRuntime
from tests.support.api_client import ApiClient
from tests.support.runs import d, step


def _submit(client: ApiClient, **body: object) -> str:
    reply = client.post("/v1/run/tasks", json_body={"prompt": "Find the price", **body})
    assert reply.status == 200, reply.body
    return str(reply.json()["run_id"])


def _other_client(runtime: LocalRuntime) -> ApiClient:
    org = runtime.keys.create_org("other")
    _, key = runtime.keys.create_key(org.org_id)
    return ApiClient(runtime.api(), key)


@pytest.mark.parametrize("key", [None, "alto_wrong"])
def test_missing_or_unknown_keys_are_403(client: ApiClient, key: str | None) -> None:
    reply = client.get("/v1/runs", key=key)
    assert reply.status == 403
    assert reply.json() == {"detail": "Invalid credentials"}
    # Even an invalid body is refused for the key first, as Skyvern's server does.
    assert client.post("/v1/run/tasks", json_body={}, key=key).status == 403


def test_a_bearer_token_works_like_x_api_key(client: ApiClient) -> None:
    reply = client.get("/v1/runs", key=None, headers={"Authorization": f"Bearer {client.key}"})
    assert reply.status == 200


def test_unknown_runs_are_404_in_skyverns_words(client: ApiClient) -> None:
    reply = client.get("/v1/runs/tsk_123")
    assert reply.status == 404
    assert reply.json() == {"detail": "Task run not found tsk_123"}
    for path in ("/v1/runs/tsk_123/timeline",):
        assert client.get(path).status == 404
    assert client.post("/v1/runs/tsk_123/cancel").status == 404
    assert client.get("/v1/runs/tsk_123/artifacts").json() == []


def test_another_organizations_run_and_artifacts_are_404(client: ApiClient, runtime: LocalRuntime) -> None:
    run_id = _submit(client)
    runtime.event_log.append(run_id, [d(ev.RunStarted()), *step("stp_1", 1)])
    artifact_id = runtime.event_log.list_artifacts(run_id)[0].artifact_id
    other = _other_client(runtime)
    assert other.get(f"/v1/runs/{run_id}").status == 404
    assert other.get(f"/v1/runs/{run_id}/timeline").status == 404
    assert other.post(f"/v1/runs/{run_id}/cancel").status == 404
    assert other.post(f"/v1/runs/{run_id}/retry_webhook").status == 404
    assert other.get(f"/v1/runs/{run_id}/artifacts").json() == []
    assert other.get(f"/v1/artifacts/{artifact_id}").json() == {"detail": f"Artifact not found {artifact_id}"}
    assert other.get(f"/v1/artifacts/{artifact_id}/content").status == 404
    assert other.get("/v1/runs").json() == []


def test_cancel_ends_a_queued_run_and_is_a_no_op_on_a_finished_one(client: ApiClient) -> None:
    run_id = _submit(client)
    reply = client.post(f"/v1/runs/{run_id}/cancel")
    assert reply.status == 200 and reply.json() is None
    run = client.get(f"/v1/runs/{run_id}").json()
    assert run["status"] == "canceled"
    assert run["finished_at"] is not None
    assert client.post(f"/v1/runs/{run_id}/cancel").status == 200
    assert client.get(f"/v1/runs/{run_id}").json()["status"] == "canceled"


def test_cancel_of_a_running_run_ends_it_canceled_at_once(client: ApiClient, runtime: LocalRuntime) -> None:
    run_id = _submit(client)
    runtime.event_log.append(run_id, [d(ev.RunStarted())])
    assert client.post(f"/v1/runs/{run_id}/cancel").status == 200
    # The very next read says canceled: the executor finds the run ended and stops on its own.
    assert client.get(f"/v1/runs/{run_id}").json()["status"] == "canceled"
    view = runtime.event_log.get_view(run_id)
    assert view is not None and view.cancel_requested and view.finished_at is not None
    terminal = [e for e in runtime.event_log.read(run_id) if e.type in ev.TERMINAL_EVENT_TYPES]
    assert [e.type for e in terminal] == ["RunCanceled"]


def test_the_timeline_has_one_entry_per_step_in_order(client: ApiClient, runtime: LocalRuntime) -> None:
    run_id = _submit(client)
    runtime.event_log.append(run_id, [d(ev.RunStarted()), *step("stp_1", 1), *step("stp_2", 2)])
    runtime.event_log.append(run_id, [d(ev.RunCompleted(output={"price": "$3"}))])
    entries = client.get(f"/v1/runs/{run_id}/timeline").json()
    assert [e["order"] for e in entries] == [1, 2]
    assert [e["status"] for e in entries] == ["completed", "completed"]
    first = entries[0]["block"]
    assert first["actions"][0]["action_type"] == "click"
    assert first["actions"][0]["reasoning"] == "The button leads to the price"
    assert first["actions"][0]["status"] == "completed"
    assert len(first["screenshot_artifact_ids"]) == 1
    assert entries[1]["block"]["output"] == {"price": "$3"}


def test_artifacts_are_listed_filtered_and_served(client: ApiClient, runtime: LocalRuntime) -> None:
    run_id = _submit(client)
    view = runtime.event_log.get_view(run_id)
    assert view is not None
    uri = runtime.artifacts.put(f"{view.org_id}/{run_id}/a_9.html", b"<p>hi</p>", content_type="text/html")
    runtime.event_log.append(
        run_id,
        [
            d(ev.RunStarted()),
            *step("stp_1", 1),
            d(
                ev.ArtifactStored(
                    artifact_id="a_9",
                    artifact_type=ArtifactType.HTML_SCRAPE,
                    uri=uri,
                    content_type="text/html",
                    file_size=9,
                )
            ),
        ],
    )
    every = client.get(f"/v1/runs/{run_id}/artifacts").json()
    assert {a["artifact_type"] for a in every} == {"screenshot_action", "html_scrape"}
    only_html = client.get(f"/v1/runs/{run_id}/artifacts", query={"artifact_type": ["html_scrape"]}).json()
    assert [a["artifact_id"] for a in only_html] == ["a_9"]
    both = client.get(
        f"/v1/runs/{run_id}/artifacts", query={"artifact_type": ["html_scrape", "screenshot_action"]}
    ).json()
    assert len(both) == 2
    artifact = client.get("/v1/artifacts/a_9").json()
    assert artifact["run_id"] == run_id and artifact["signed_url"]
    content = client.get("/v1/artifacts/a_9/content")
    assert content.status == 200 and content.body == b"<p>hi</p>"
    assert content.headers["Content-Type"] == "text/html"
    # The signed link works without a key; a tampered one does not.
    link = urlsplit(artifact["signed_url"])
    query = dict(part.split("=") for part in link.query.split("&"))
    assert client.get(link.path, query=query, key=None).body == b"<p>hi</p>"
    assert client.get(link.path, query={**query, "signature": "0" * 64}, key=None).status == 403
    assert client.get(link.path, key=None).status == 403


def test_runs_are_listed_newest_first_with_filters(client: ApiClient) -> None:
    first = _submit(client, title="first")
    second = _submit(client, title="second", engine="skyvern-1.0")
    client.post(f"/v1/runs/{first}/cancel")
    runs = client.get("/v1/runs").json()
    assert [r["run_id"] for r in runs] == [second, first]
    assert [r["run_id"] for r in client.get("/v1/runs", query={"status": ["canceled"]}).json()] == [first]
    assert [r["run_id"] for r in client.get("/v1/runs", query={"run_type": ["task_v1"]}).json()] == [second]
    assert [r["run_id"] for r in client.get("/v1/runs", query={"search_key": "SEC"}).json()] == [second]
    assert [r["run_id"] for r in client.get("/v1/runs", query={"page": "2", "page_size": "1"}).json()] == [
        first
    ]
    assert client.get("/v1/runs", query={"status": ["sleeping"]}).status == 422


def test_the_next_pages_cursor_comes_in_a_header_and_resumes_the_listing(client: ApiClient) -> None:
    ids = [_submit(client, title=f"Batch {n}") for n in range(5)]
    first = client.get("/v1/runs", query={"page_size": "2", "search_key": "batch"})
    assert [r["run_id"] for r in first.json()] == ids[::-1][:2]
    assert set(first.json()[0]) == {
        "task_run_id",
        "run_id",
        "task_run_type",
        "status",
        "title",
        "created_at",
        "modified_at",
        "started_at",
        "finished_at",
        "workflow_permanent_id",
        "script_run",
        "step_count",
        "failure_reason",
    }
    seen = [r["run_id"] for r in first.json()]
    cursor = first.headers.get("x-next-cursor")
    while cursor:
        reply = client.get("/v1/runs", query={"page_size": "2", "search_key": "batch", "cursor": cursor})
        assert reply.status == 200
        seen += [r["run_id"] for r in reply.json()]
        cursor = reply.headers.get("x-next-cursor")
    assert seen == ids[::-1]
    last = client.get("/v1/runs", query={"page": "3", "page_size": "2"})
    assert [r["run_id"] for r in last.json()] == [ids[0]] and "x-next-cursor" not in last.headers


def test_a_bad_cursor_is_a_400_that_says_why(client: ApiClient) -> None:
    _submit(client)
    _submit(client)
    reply = client.get("/v1/runs", query={"cursor": "not-a-cursor"})
    assert reply.status == 400
    assert reply.json() == {"detail": "The cursor is not one this server returned; start again without it."}
    cursor = client.get("/v1/runs", query={"page_size": "1"}).headers["x-next-cursor"]
    both = client.get("/v1/runs", query={"cursor": cursor, "page": "2"})
    assert both.status == 400 and "either page or cursor" in both.json()["detail"]


def test_retry_webhook_explains_why_it_cannot_send(client: ApiClient) -> None:
    run_id = _submit(client)
    reply = client.post(f"/v1/runs/{run_id}/retry_webhook")
    assert reply.status == 400 and "still queued" in reply.json()["detail"]
    client.post(f"/v1/runs/{run_id}/cancel")
    reply = client.post(f"/v1/runs/{run_id}/retry_webhook", raw="")
    assert reply.status == 400 and "has no webhook_url" in reply.json()["detail"]
    reply = client.post(f"/v1/runs/{run_id}/retry_webhook", raw="[1")
    assert reply.status == 400


def test_openapi_and_docs_are_public(client: ApiClient) -> None:
    spec = client.get("/openapi.json", key=None)
    assert spec.status == 200
    paths = json.loads(spec.body)["paths"]
    assert {"/v1/run/tasks", "/v1/runs/{run_id}", "/v1/artifacts/{artifact_id}/content"} <= set(paths)
    docs = client.get("/docs", key=None)
    assert docs.status == 200 and b"swagger" in docs.body.lower()


def test_an_internal_error_is_a_500_without_details(
    client: ApiClient, runtime: LocalRuntime, monkeypatch: pytest.MonkeyPatch
) -> None:
    run_id = _submit(client)

    def broken(_: str) -> None:
        raise RuntimeError(f"disk /var/secret/{client.key} exploded")

    monkeypatch.setattr(runtime.event_log, "get_view", broken)
    reply = client.get(f"/v1/runs/{run_id}")
    assert reply.status == 500
    assert reply.json() == {"detail": INTERNAL_ERROR}
    assert b"RuntimeError" not in reply.body and b"/var/secret" not in reply.body
