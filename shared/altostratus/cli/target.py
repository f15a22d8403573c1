"""Which API the CLI talks to: a deployed one (--base-url/--api-key), or the embedded server
on this machine — reused when it is already running, started in this process when not."""

from __future__ import annotations

import argparse
import os
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx

from altostratus.runtimes.settings import Settings, load_settings

CLI_KEY_FILE = "cli.key"


def add_target_options(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--base-url", help="a deployed API (default: the embedded server on this machine)")
    parser.add_argument("--api-key", help="API key for --base-url (or ALTO_API_KEY)")
    parser.add_argument("--data-dir", type=Path, help="the embedded server's data directory (ALTO_DATA_DIR)")


def _embedded_settings(args: argparse.Namespace) -> Settings:
    return load_settings(data_dir=args.data_dir) if getattr(args, "data_dir", None) else load_settings()


def cli_key(settings: Settings) -> str:
    """The CLI's own key for the embedded server, kept (owner-only) beside the database."""
    from altostratus.runtimes.local import build_local

    path = settings.data_dir / CLI_KEY_FILE
    if path.exists():
        return path.read_text().strip()
    runtime = build_local(settings)
    try:
        org = runtime.keys.org_by_name("default") or runtime.keys.create_org("default")
        _, raw = runtime.keys.create_key(org.org_id, label="alto CLI")
    finally:
        runtime.close()
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as f:
        f.write(raw)
    return raw


def _is_up(base_url: str) -> bool:
    try:
        return httpx.get(f"{base_url}/health", timeout=0.5).status_code == 200
    except httpx.HTTPError:
        return False


@contextmanager
def api_target(args: argparse.Namespace, *, start_if_needed: bool) -> Iterator[tuple[str, str]]:
    """(base_url, api_key) to call, for the duration of the command."""
    if args.base_url:
        key = args.api_key or os.environ.get("ALTO_API_KEY")
        if not key:
            raise SystemExit("--base-url needs --api-key (or ALTO_API_KEY)")
        yield args.base_url.rstrip("/"), key
        return
    settings = _embedded_settings(args)
    key = cli_key(settings)
    if _is_up(settings.base_url()) or not start_if_needed:
        yield settings.base_url(), key
        return
    from altostratus.runtimes.embedded import EmbeddedService

    with EmbeddedService(settings) as service:
        yield service.base_url, key
