"""Wiring of the engine for tests: real SQLite event log, file artifacts, the real anthropic
SDK against the fake Messages server, and a tiny retry backoff (through configuration)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

from altostratus.adapters.anthropic_llm import AnthropicLLM, LLMRetryPolicy
from altostratus.adapters.file_artifacts import FileArtifactStore
from altostratus.adapters.sqlite_db import SQLiteDatabase
from altostratus.adapters.sqlite_event_log import SQLiteEventLog
from altostratus.domain import events as ev
from altostratus.domain.ids import IdFactory
from altostratus.domain.timeline import TimelineEntry, timeline
from altostratus.domain.view import RunView
from altostratus.engine.agent import AgentDeps, EngineSettings
from tests.fakes.anthropic_server import FakeAnthropicServer
from tests.support.clock import FakeClock
from tests.support.runs import created

FAST_RETRY = LLMRetryPolicy(max_attempts=4, base_delay_s=0.001, max_delay_s=0.005)


@dataclass
class Harness:
    deps: AgentDeps
    event_log: SQLiteEventLog
    artifacts: FileArtifactStore
    server: FakeAnthropicServer
    db: SQLiteDatabase

    def create_run(self, run_id: str = "tsk_v2_1", **request: Any) -> str:
        self.event_log.append(run_id, [created(**request)])
        return run_id

    def view(self, run_id: str) -> RunView:
        view = self.event_log.get_view(run_id)
        assert view is not None
        return view

    def events(self, run_id: str) -> list[ev.Event]:
        return self.event_log.read(run_id)

    def of_type(self, run_id: str, kind: type[Any]) -> list[Any]:
        return [e.data for e in self.events(run_id) if isinstance(e.data, kind)]

    def timeline(self, run_id: str) -> list[TimelineEntry]:
        return timeline(self.events(run_id))

    def agent_requests(self) -> list[dict[str, Any]]:
        """Bodies of successful main-loop calls (not verifier/extraction/classification)."""
        return [
            e.body
            for e in self.server.successful()
            if (e.body.get("tool_choice") or {}).get("type") != "tool"
            or e.body["tool_choice"]["name"] == "update_checklist"
        ]

    def everything_recorded(self, run_id: str) -> str:
        """Every event and stored artifact of the run, as text (to look for leaks)."""
        parts = [e.model_dump_json() for e in self.events(run_id)]
        for data in self.of_type(run_id, ev.ArtifactStored):
            raw = self.artifacts.get(data.uri)
            parts.append(raw.decode(errors="replace"))
        return "\n".join(parts)

    def close(self) -> None:
        self.db.close()

    def with_settings(self, **changes: Any) -> Harness:
        self.deps = replace(self.deps, settings=replace(self.deps.settings, **changes))
        return self

    def with_secrets(self, secrets: Mapping[str, str]) -> Harness:
        values = dict(secrets)
        self.deps = replace(self.deps, secrets=lambda view: values)
        return self


def make_harness(
    tmp_path: Path, server: FakeAnthropicServer, settings: EngineSettings | None = None
) -> Harness:
    clock = FakeClock()
    db = SQLiteDatabase(tmp_path / "alto.db")
    event_log = SQLiteEventLog(db, clock)
    artifacts = FileArtifactStore(
        tmp_path / "artifacts", public_base_url="http://127.0.0.1:1", signing_secret=b"test"
    )
    llm = AnthropicLLM(api_key=server.api_key, base_url=server.base_url, retry=FAST_RETRY, timeout_s=30)
    deps = AgentDeps(
        event_log=event_log,
        artifacts=artifacts,
        llm=llm,
        ids=IdFactory(),
        clock=clock,
        settings=settings or EngineSettings(),
    )
    return Harness(deps=deps, event_log=event_log, artifacts=artifacts, server=server, db=db)
