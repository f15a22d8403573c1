"""One SQLite database file (WAL) shared by the embedded adapters, a connection per thread.

Every driver error leaves this module as a port error (`translate`), so callers handle the
same failures whatever the backend: a broken uniqueness rule is an IntegrityError (retrying
cannot help), anything else (busy, locked, disk full, corrupt) StoreUnavailableError.
"""

from __future__ import annotations

import os
import sqlite3
import threading
from collections.abc import Iterator, Sequence
from contextlib import contextmanager, suppress
from pathlib import Path
from typing import Any

from altostratus.ports.errors import IntegrityError, PortError, StoreUnavailableError


def translate(exc: sqlite3.Error) -> PortError:
    """The port error for a driver error (the message keeps the driver's words for operators'
    logs; the API never shows it to callers)."""
    if isinstance(exc, sqlite3.IntegrityError):
        return IntegrityError(f"a record that must be unique exists already: {exc}")
    return StoreUnavailableError(f"the database is busy or unreadable: {exc}")


class SQLiteDatabase:
    def __init__(self, path: Path) -> None:
        self.path = path
        path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
        # Created owner-only before SQLite opens it: SQLite gives its WAL and shared-memory
        # files the database file's permissions.
        os.close(os.open(path, os.O_RDWR | os.O_CREAT, 0o600))
        self._local = threading.local()
        self._schema_lock = threading.Lock()
        self._schemas: set[str] = set()
        self._all: list[sqlite3.Connection] = []
        self._all_lock = threading.Lock()

    def connection(self) -> sqlite3.Connection:
        conn: sqlite3.Connection | None = getattr(self._local, "conn", None)
        if conn is None:
            # isolation_level=None: we issue BEGIN ourselves, so writers can take the lock up
            # front (BEGIN IMMEDIATE) instead of failing to upgrade a read lock mid-transaction.
            conn = sqlite3.connect(self.path, timeout=30, isolation_level=None, check_same_thread=False)
            conn.execute("PRAGMA journal_mode=WAL")
            conn.execute("PRAGMA synchronous=NORMAL")
            conn.execute("PRAGMA busy_timeout=30000")
            conn.execute("PRAGMA foreign_keys=ON")
            self._local.conn = conn
            with self._all_lock:
                self._all.append(conn)
        return conn

    def ensure_schema(self, name: str, ddl: str) -> None:
        with self._schema_lock:
            if name in self._schemas:
                return
            # executescript() would COMMIT the surrounding transaction, so run statements one by one.
            with self.write() as conn:
                for statement in _statements(ddl):
                    conn.execute(statement)
            self._schemas.add(name)

    @contextmanager
    def write(self) -> Iterator[sqlite3.Connection]:
        """A write transaction holding the database's write lock from its first statement; all
        of it is committed, or (on any error) none of it."""
        conn = self.connection()
        try:
            conn.execute("BEGIN IMMEDIATE")
        except sqlite3.Error as exc:
            raise translate(exc) from exc
        try:
            yield conn
            conn.execute("COMMIT")
        except BaseException as exc:
            with suppress(sqlite3.Error):
                conn.execute("ROLLBACK")
            if isinstance(exc, sqlite3.Error):
                raise translate(exc) from exc
            raise

    def fetchall(self, sql: str, params: Sequence[Any] = ()) -> list[Any]:
        """Rows of a read on this thread's connection (inside a write transaction if one is open)."""
        try:
            return self.connection().execute(sql, params).fetchall()
        except sqlite3.Error as exc:
            raise translate(exc) from exc

    def fetchone(self, sql: str, params: Sequence[Any] = ()) -> Any:
        try:
            return self.connection().execute(sql, params).fetchone()
        except sqlite3.Error as exc:
            raise translate(exc) from exc

    def close(self) -> None:
        with self._all_lock:
            for conn in self._all:
                conn.close()
            self._all.clear()
        self._local = threading.local()


def _statements(ddl: str) -> list[str]:
    return [s.strip() for s in ddl.split(";") if s.strip()]
