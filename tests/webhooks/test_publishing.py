"""Every run event is published (schema-checked, no secrets); the embedded outbox publishes in
commit order from a persisted cursor."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import jsonschema
import pytest

from altostratus.adapters.inprocess_bus import InProcessBus
from altostratus.adapters.sqlite_db import SQLiteDatabase
from altostratus.adapters.sqlite_event_log import SQLiteEventLog
from altostratus.adapters.sqlite_outbox import SQLiteOutboxCursor
from altostratus.domain import events as ev
from altostratus.domain.enums import ArtifactType
from altostratus.domain.event_patterns import matches
from altostratus.ports.bus import BusMessage, BusUnavailableError
from altostratus.ports.secret_box import executor_request
from altostratus.publishing import TERMINAL_WITH_WEBHOOK, OutboxPublisher, bus_message
from altostratus.publishing.detail import MAX_DETAIL_BYTES
from altostratus.publishing.schemas import all_schemas, render
from tests.support.clock import FakeClock
from tests.support.runs import created, d, step
from tests.webhooks.conftest import Embedded, eventually

SCHEMAS_DIR = Path(__file__).resolve().parents[2] / "events" / "schemas"
SECRETS = ("Bearer S3CRET-TOKEN", "PROXYPASS", "CDPSECRET", "HOOKPASS")


def _validator(event_type: str) -> jsonschema.protocols.Validator:
    schema = json.loads((SCHEMAS_DIR / f"{event_type}.json").read_text())
    return jsonschema.Draft202012Validator(schema)


def test_the_checked_in_schemas_are_the_generated_ones() -> None:
    generated = all_schemas()
    assert sorted(p.stem for p in SCHEMAS_DIR.glob("*.json")) == sorted(generated)
    for event_type, schema in generated.items():
        jsonschema.Draft202012Validator.check_schema(schema)
        assert (SCHEMAS_DIR / f"{event_type}.json").read_text() == render(schema), (
            f"events/schemas/{event_type}.json is stale: run python -m altostratus.publishing.schemas"
        )


def _log_with_every_kind_of_event(tmp_path: Path) -> tuple[SQLiteEventLog, str]:
    log = SQLiteEventLog(SQLiteDatabase(tmp_path / "log.db"), FakeClock())
    run_id = "tsk_v2_1"
    log.append(
        run_id, [created(webhook_url="https://hooks.example.com/x"), d(ev.RunQueued()), d(ev.RunStarted())]
    )
    log.append(run_id, step("stp_1", 1))
    log.append(
        run_id,
        [
            d(ev.ThoughtRecorded(thought_id="th_1", thought="Open the pricing page")),
            d(ev.CompletionChecked(accepted=True, evidence="The price is shown")),
            d(ev.OutputProduced(output={"price": 10.5})),
            d(ev.CheckpointSaved(uri="file:///tmp/cp", next_step_order=2)),
            d(ev.RunCompleted(output={"price": 10.5})),
            d(
                ev.WebhookAttempted(
                    delivery_id="msg_1", attempt=1, url="https://hooks.example.com/x", status_code=200
                )
            ),
            d(ev.WebhookDelivered(delivery_id="msg_1", attempt=1, status_code=200)),
        ],
    )
    return log, run_id


def test_every_published_detail_validates_against_its_schema(tmp_path: Path) -> None:
    log, run_id = _log_with_every_kind_of_event(tmp_path)
    view = log.get_view(run_id)
    seen = set()
    for event in log.read(run_id):
        message = bus_message(event, view)
        assert message.detail_type == event.type and message.source == "altostratus"
        _validator(event.type).validate(message.detail)
        seen.add(event.type)
    assert len(seen) >= 15


def test_a_detail_carrying_the_request_fails_its_schema(tmp_path: Path) -> None:
    log, run_id = _log_with_every_kind_of_event(tmp_path)
    detail = bus_message(log.read(run_id)[0], log.get_view(run_id)).detail
    leaked = json.loads(json.dumps(detail))
    leaked["event"]["data"]["request"] = {"extra_http_headers": {"Authorization": "x"}}
    with pytest.raises(jsonschema.ValidationError, match="request"):
        _validator("RunCreated").validate(leaked)


def test_an_output_too_large_for_the_bus_is_published_without_its_data(tmp_path: Path) -> None:
    log, run_id = _log_with_every_kind_of_event(tmp_path)
    event = log.read(run_id)[-3]  # RunCompleted
    huge = event.model_copy(update={"data": ev.RunCompleted(output={"text": "x" * MAX_DETAIL_BYTES})})
    detail = bus_message(huge, log.get_view(run_id)).detail
    assert detail["truncated"] is True and detail["event"]["data"] is None
    _validator("RunCompleted").validate(detail)


def test_no_secret_of_the_request_reaches_the_bus(embedded: Embedded) -> None:
    # GIVEN a subscriber that sees everything published
    published: list[BusMessage] = []
    assert embedded.runtime.integrations is not None
    embedded.runtime.integrations.bus.subscribe("everything", {"source": ["altostratus"]}, published.append)
    # WHEN a run with browser headers, proxy credentials and a webhook password runs and ends
    run_id = embedded.submit(
        url="https://example.com",
        extra_http_headers={"Authorization": "Bearer S3CRET-TOKEN", "Accept-Language": "fr"},
        cdp_connect_headers={"X-Cdp": "CDPSECRET"},
        proxy_location={"url": "http://user:PROXYPASS@proxy.example.com:3128"},
        webhook_url="https://hook:HOOKPASS@hooks.example.com/x",
    )
    embedded.finish(run_id)
    eventually(lambda: any(m.detail_type == "RunCompleted" for m in published), what="RunCompleted published")

    # THEN the log holds the secrets only sealed: the executor, with the master key, gets them...
    logged = json.dumps([e.model_dump(mode="json") for e in embedded.runtime.event_log.read(run_id)])
    assert [s for s in SECRETS if s in logged] == []
    view = embedded.runtime.event_log.get_view(run_id)
    assert view is not None
    opened = executor_request(view, embedded.runtime.services.secret_box).model_dump_json()
    assert all(secret in opened for secret in SECRETS)
    # ...while nothing published shows them
    on_the_bus = json.dumps([m.detail for m in published])
    assert [s for s in SECRETS if s in on_the_bus] == []
    created_detail = next(m.detail for m in published if m.detail_type == "RunCreated")
    assert "request" not in created_detail["event"]["data"]
    # Every browser header value is masked in the echo: any of them may be a credential.
    assert created_detail["event"]["data"]["request_echo"]["extra_http_headers"]["Accept-Language"] == "***"
    for message in published:
        _validator(message.detail_type).validate(message.detail)


def _detail(event_type: str, *, has_webhook_url: bool) -> dict[str, Any]:
    return {
        "source": "altostratus",
        "detail-type": event_type,
        "detail": {"event": {"type": event_type}, "run": {"has_webhook_url": has_webhook_url}},
    }


@pytest.mark.parametrize(
    "terminal", ["RunCompleted", "RunFailed", "RunTerminated", "RunTimedOut", "RunCanceled"]
)
def test_the_webhook_pattern_selects_terminal_events_of_runs_with_a_webhook(terminal: str) -> None:
    assert matches(TERMINAL_WITH_WEBHOOK, _detail(terminal, has_webhook_url=True))
    assert not matches(TERMINAL_WITH_WEBHOOK, _detail(terminal, has_webhook_url=False))
    assert not matches(TERMINAL_WITH_WEBHOOK, _detail("RunStarted", has_webhook_url=True))
    assert not matches(TERMINAL_WITH_WEBHOOK, {**_detail(terminal, has_webhook_url=True), "source": "other"})


def test_pattern_operators() -> None:
    event = {"detail": {"status": "failed", "tags": ["a", "b"], "n": 1}}
    assert matches({"detail": {"status": [{"prefix": "fail"}]}}, event)
    assert matches({"detail": {"status": [{"anything-but": ["completed"]}]}}, event)
    assert not matches({"detail": {"status": [{"anything-but": "failed"}]}}, event)
    assert matches({"detail": {"tags": ["b"]}}, event)
    assert matches({"detail": {"gone": [{"exists": False}]}}, event)
    assert not matches({"detail": {"n": [True]}}, event)  # true is not 1


# -- the outbox -------------------------------------------------------------------------


class Recorder:
    def __init__(self, *, fail_first: int = 0) -> None:
        self.seen: list[tuple[str, int]] = []
        self._fail = fail_first

    def __call__(self, message: BusMessage) -> None:
        if self._fail:
            self._fail -= 1
            raise RuntimeError("subscriber down")
        self.seen.append((str(message.detail["event"]["run_id"]), int(message.detail["event"]["seq"])))


def _outbox(db: SQLiteDatabase, log: SQLiteEventLog, recorder: Recorder) -> OutboxPublisher:
    bus = InProcessBus()
    bus.subscribe("recorder", {"source": ["altostratus"]}, recorder)
    return OutboxPublisher(
        read_after=lambda after, limit: log.read_global(after=after, limit=limit),
        get_view=log.get_view,
        cursor=SQLiteOutboxCursor(db),
        bus=bus,
        batch_size=3,
    )


def test_the_outbox_publishes_in_commit_order_and_a_restart_resumes_from_the_cursor(tmp_path: Path) -> None:
    db = SQLiteDatabase(tmp_path / "alto.db")
    log = SQLiteEventLog(db, FakeClock())
    log.append("r1", [created(), d(ev.RunQueued())])
    log.append("r2", [created()])
    log.append("r1", [d(ev.RunStarted())])
    first = Recorder()
    outbox = _outbox(db, log, first)
    while outbox.publish_batch():
        pass
    assert first.seen == [("r1", 1), ("r1", 2), ("r2", 1), ("r1", 3)]

    # WHEN more is committed and a new process (new outbox, same database) starts
    log.append("r2", [d(ev.RunQueued())])
    second = Recorder()
    restarted = _outbox(SQLiteDatabase(tmp_path / "alto.db"), log, second)
    while restarted.publish_batch():
        pass
    # THEN only what was not yet published is published
    assert second.seen == [("r2", 2)]


def test_a_failing_subscriber_keeps_the_cursor_so_the_batch_is_published_again(tmp_path: Path) -> None:
    db = SQLiteDatabase(tmp_path / "alto.db")
    log = SQLiteEventLog(db, FakeClock())
    log.append("r1", [created(), d(ev.RunQueued())])
    recorder = Recorder(fail_first=1)
    outbox = _outbox(db, log, recorder)
    with pytest.raises(BusUnavailableError):
        outbox.publish_batch()
    assert SQLiteOutboxCursor(db).position() == 0
    assert outbox.publish_batch() == 2
    assert recorder.seen == [("r1", 2), ("r1", 1), ("r1", 2)]  # at least once, never lost


def test_artifact_events_after_the_end_are_published_too(tmp_path: Path) -> None:
    db = SQLiteDatabase(tmp_path / "alto.db")
    log = SQLiteEventLog(db, FakeClock())
    log.append("r1", [created(), d(ev.RunStarted()), d(ev.RunFailed(reason="no"))])
    log.append(
        "r1",
        [
            d(
                ev.ArtifactStored(
                    artifact_id="a_1", artifact_type=ArtifactType.RECORDING, uri="file:///tmp/r.webm"
                )
            )
        ],
    )
    recorder = Recorder()
    outbox = _outbox(db, log, recorder)
    while outbox.publish_batch():
        pass
    assert recorder.seen[-1] == ("r1", 4)
