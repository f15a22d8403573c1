"""The list of `alto` subcommand modules; each exposes `register(subparsers)`."""

from __future__ import annotations

from types import ModuleType

from altostratus.cli import demo, keys, run, runs, serve, snapshot

ALL: list[ModuleType] = [demo, serve, run, runs, keys, snapshot]
