"""The list of `alto` subcommand modules; each exposes `register(subparsers)`."""

from __future__ import annotations

from types import ModuleType

from altostratus.cli import demo, keys, run, runs, serve, sessions, snapshot, viewer

ALL: list[ModuleType] = [demo, serve, run, runs, sessions, viewer, keys, snapshot]
