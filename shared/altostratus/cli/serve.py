"""`alto serve`: the API on the embedded runtime (SQLite + files under the data directory)."""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

import uvicorn
from rich.console import Console

from altostratus.runtimes.http_server import ApiAsgiApp
from altostratus.runtimes.local import build_local
from altostratus.runtimes.settings import Settings


def settings_from(args: argparse.Namespace) -> Settings:
    """Environment (ALTO_*) first, then the flags given on the command line."""
    overrides: dict[str, Any] = {}
    for name in ("host", "port", "data_dir"):
        value = getattr(args, name, None)
        if value is not None:
            overrides[name] = value
    return Settings(**overrides)


def add_common_options(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--data-dir", type=Path, help="where runs, keys and artifacts live (ALTO_DATA_DIR)")


def register(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    parser = subparsers.add_parser("serve", help="serve the API on this machine")
    parser.add_argument("--host", help="interface to listen on (ALTO_HOST, default 127.0.0.1)")
    parser.add_argument("--port", type=int, help="port to listen on (ALTO_PORT, default 8000)")
    add_common_options(parser)
    parser.set_defaults(handler=serve)


def serve(args: argparse.Namespace) -> int:
    settings = settings_from(args)
    console = Console(highlight=False)
    runtime = build_local(settings)
    dev_key = runtime.ensure_dev_key()
    app = ApiAsgiApp(runtime.api(), max_body_bytes=settings.max_body_bytes)
    console.print(f"Altostratus API on [bold]{settings.base_url()}[/] (docs at {settings.base_url()}/docs)")
    console.print(f"Data directory: {settings.data_dir}")
    if dev_key:
        console.print("Development API key for organization 'default' (shown once, stored hashed):")
        console.print(f"  [bold]{dev_key}[/]", soft_wrap=True)
    # Issue 6: publish run events and deliver webhooks in the background while serving.
    if runtime.integrations is not None:
        console.print(runtime.integrations.describe_targets())
    runtime.start_integrations()
    try:
        uvicorn.run(app, host=settings.host, port=settings.port, log_level="warning", access_log=False)
    finally:
        runtime.close()
    return 0
