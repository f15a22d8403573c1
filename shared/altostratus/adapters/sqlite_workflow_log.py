"""The embedded workflow log: workflow and script events and views in the run database."""

from __future__ import annotations

from altostratus.adapters.sqlite_db import SQLiteDatabase
from altostratus.domain import workflows as w
from altostratus.ports.clock import Clock
from altostratus.ports.errors import SequenceConflictError
from altostratus.ports.workflow_log import PreparedCatalogAppend, WorkflowLog

_SCHEMA = """
CREATE TABLE IF NOT EXISTS catalog_events (
    aggregate_id TEXT NOT NULL,
    seq INTEGER NOT NULL,
    body TEXT NOT NULL,
    PRIMARY KEY (aggregate_id, seq)
);
CREATE TABLE IF NOT EXISTS catalog_views (
    aggregate_id TEXT PRIMARY KEY,
    kind TEXT NOT NULL,
    org_id TEXT NOT NULL,
    created_at TEXT NOT NULL,
    version INTEGER NOT NULL,
    body TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS catalog_views_by_org ON catalog_views (org_id, kind, created_at DESC)
"""


def _view(kind: str, body: str) -> w.CatalogView:
    if kind == "workflow":
        return w.WorkflowView.model_validate_json(body)
    return w.ScriptView.model_validate_json(body)


class SQLiteWorkflowLog(WorkflowLog):
    def __init__(self, db: SQLiteDatabase, clock: Clock) -> None:
        super().__init__(clock)
        self._db = db
        db.ensure_schema("workflow_log", _SCHEMA)

    def get(self, aggregate_id: str) -> w.CatalogView | None:
        row = (
            self._db.connection()
            .execute("SELECT kind, body FROM catalog_views WHERE aggregate_id = ?", (aggregate_id,))
            .fetchone()
        )
        return _view(row[0], row[1]) if row else None

    def read(self, aggregate_id: str) -> list[w.CatalogEvent]:
        rows = (
            self._db.connection()
            .execute("SELECT body FROM catalog_events WHERE aggregate_id = ? ORDER BY seq", (aggregate_id,))
            .fetchall()
        )
        return [w.CATALOG_EVENT_ADAPTER.validate_json(r[0]) for r in rows]

    def _list(self, org_id: str, kind: str, offset: int, limit: int) -> list[w.CatalogView]:
        rows = (
            self._db.connection()
            .execute(
                "SELECT kind, body FROM catalog_views WHERE org_id = ? AND kind = ?"
                " ORDER BY created_at DESC, aggregate_id DESC LIMIT ? OFFSET ?",
                (org_id, kind, limit, offset),
            )
            .fetchall()
        )
        return [_view(r[0], r[1]) for r in rows]

    def list_workflows(self, org_id: str, *, offset: int = 0, limit: int = 10) -> list[w.WorkflowView]:
        return [v for v in self._list(org_id, "workflow", offset, limit) if isinstance(v, w.WorkflowView)]

    def list_scripts(self, org_id: str, *, offset: int = 0, limit: int = 10) -> list[w.ScriptView]:
        return [v for v in self._list(org_id, "script", offset, limit) if isinstance(v, w.ScriptView)]

    def _write(self, prepared: PreparedCatalogAppend) -> None:
        with self._db.write() as conn:
            row = conn.execute(
                "SELECT version FROM catalog_views WHERE aggregate_id = ?", (prepared.aggregate_id,)
            ).fetchone()
            if (row[0] if row else 0) != prepared.expected_version:
                raise SequenceConflictError(prepared.aggregate_id)
            conn.executemany(
                "INSERT INTO catalog_events (aggregate_id, seq, body) VALUES (?, ?, ?)",
                [(e.aggregate_id, e.seq, e.model_dump_json()) for e in prepared.events],
            )
            view = prepared.view
            conn.execute(
                "INSERT INTO catalog_views (aggregate_id, kind, org_id, created_at, version, body)"
                " VALUES (?, ?, ?, ?, ?, ?) ON CONFLICT (aggregate_id) DO UPDATE SET"
                " version = excluded.version, body = excluded.body",
                (
                    view.aggregate_id,
                    view.kind,
                    view.org_id,
                    view.created_at.isoformat(),
                    view.version,
                    view.model_dump_json(),
                ),
            )
