"""The list of `alto` subcommand modules; each exposes `register(subparsers)`."""

from __future__ import annotations

from types import ModuleType

ALL: list[ModuleType] = []
