"""The `alto` command: one argparse parser, one module per subcommand group."""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Callable, Sequence
from typing import Protocol

import altostratus
from altostratus.runtimes.startup_errors import StartupError


class _Command(Protocol):
    def register(self, subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None: ...


def _commands() -> Sequence[_Command]:
    # Imported lazily so `alto --help` stays fast and one broken group cannot hide the others.
    from altostratus.cli import commands

    return commands.ALL


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="alto", description="Altostratus: AI browser automation runs.")
    parser.add_argument("--version", action="version", version=f"alto {altostratus.__version__}")
    subparsers = parser.add_subparsers(dest="command", metavar="COMMAND")
    subparsers.required = True
    for command in _commands():
        command.register(subparsers)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    handler: Callable[[argparse.Namespace], int] = args.handler
    # Everything alto writes (the data directory, keys, runs, artifacts) is the owner's only.
    os.umask(0o077)
    try:
        return handler(args)
    except StartupError as exc:
        sys.stderr.write(f"alto: {exc}\n")
        return 2
    except KeyboardInterrupt:
        return 130


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
