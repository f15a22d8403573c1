"""The `alto` command: one argparse parser, one module per subcommand group."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable, Sequence
from typing import Protocol


class _Command(Protocol):
    def register(self, subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None: ...


def _commands() -> Sequence[_Command]:
    # Imported lazily so `alto --help` stays fast and one broken group cannot hide the others.
    from altostratus.cli import commands

    return commands.ALL


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="alto", description="Altostratus: AI browser automation runs.")
    subparsers = parser.add_subparsers(dest="command", metavar="COMMAND")
    subparsers.required = True
    for command in _commands():
        command.register(subparsers)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    handler: Callable[[argparse.Namespace], int] = args.handler
    try:
        return handler(args)
    except KeyboardInterrupt:
        return 130


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
