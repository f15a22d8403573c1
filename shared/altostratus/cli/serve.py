"""`alto serve`: the API on the embedded runtime (SQLite + files under the data directory)."""

from __future__ import annotations

import argparse
import os
import signal
import threading
from pathlib import Path
from typing import Any

from rich.console import Console

from altostratus.runtimes.logs import LOG_FORMATS, LOG_LEVELS, configure_serve_logs
from altostratus.runtimes.settings import Settings, load_settings


def settings_from(args: argparse.Namespace) -> Settings:
    """Environment (ALTO_*) first, then the flags given on the command line."""
    overrides: dict[str, Any] = {}
    for name in ("host", "port", "data_dir"):
        value = getattr(args, name, None)
        if value is not None:
            overrides[name] = value
    if getattr(args, "api_only", False):
        overrides["execute_runs"] = False
    return load_settings(**overrides)


def add_common_options(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--data-dir", type=Path, help="where runs, keys and artifacts live (ALTO_DATA_DIR)")


def register(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    parser = subparsers.add_parser("serve", help="serve the API on this machine")
    parser.add_argument("--host", help="interface to listen on (ALTO_HOST, default 127.0.0.1)")
    parser.add_argument("--port", type=int, help="port to listen on (ALTO_PORT, default 8000)")
    parser.add_argument(
        "--api-only", action="store_true", help="serve the API without executing runs (they stay queued)"
    )
    parser.add_argument(
        "--log-format",
        choices=LOG_FORMATS,
        default=os.environ.get("ALTO_LOG_FORMAT", "text"),
        help="log lines on stderr as text or one JSON object each (ALTO_LOG_FORMAT, default text)",
    )
    parser.add_argument(
        "--log-level",
        choices=LOG_LEVELS,
        type=str.lower,
        default=os.environ.get("ALTO_LOG_LEVEL", "info").lower(),
        help="the least severe lines written (ALTO_LOG_LEVEL, default info)",
    )
    add_common_options(parser)
    parser.set_defaults(handler=serve)


def serve(args: argparse.Namespace) -> int:
    # Imported here: the service pulls in the browser and the SDKs, which `alto --help` need not.
    from altostratus.runtimes.embedded import EmbeddedService
    from altostratus.security.targets import TargetPolicy

    settings = settings_from(args)
    configure_serve_logs(args.log_format, args.log_level)
    console = Console(highlight=False)
    service = EmbeddedService(settings)
    dev_key = service.runtime.ensure_dev_key()
    stop = threading.Event()
    for signum in (signal.SIGINT, signal.SIGTERM):
        signal.signal(signum, lambda *_: stop.set())
    service.start()
    try:
        base = service.base_url
        console.print(f"Altostratus API on [bold]{base}[/] (docs at {base}/docs)")
        console.print(f"Data directory: {settings.data_dir}")
        if settings.execute_runs:
            console.print(f"Executing up to {settings.max_browsers} runs at a time.")
        else:
            console.print("API only: submitted runs stay queued; this process does not execute them.")
        if dev_key:
            console.print("Development API key for organization 'default' (shown once, stored hashed):")
            console.print(f"  [bold]{dev_key}[/]", soft_wrap=True)
        console.print(TargetPolicy.for_runtime("embedded", settings.allowed_targets).describe())
        # What webhook and TOTP callbacks may reach.
        console.print(service.runtime.integrations.describe_targets())
        if not settings.anthropic_api_key:
            console.print("No ANTHROPIC_API_KEY is set: runs will fail with that reason until one is.")
        stop.wait()
    finally:
        console.print("Stopping: runs in progress resume from their checkpoint at the next start.")
        service.stop()
    return 0
