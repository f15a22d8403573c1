"""Which API the CLI talks to: a deployed one (--base-url/--api-key), or the embedded server
on this machine — reused when it is already running, started in this process when not."""

from __future__ import annotations

import argparse
import os
import sys
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


KEY_IGNORED = (
    "alto: warning: --api-key is ignored without --base-url; talking to the embedded server on "
    "this machine with the CLI's own key. Pass --base-url to use the key with a deployed API.\n"
)
NOT_RUNNING = (
    "alto: no `alto serve` is running for {data_dir}: the run goes to a server started for this "
    "command alone, which stops when it returns; the run carries on at the next `alto serve`.\n"
)


@contextmanager
def api_target(
    args: argparse.Namespace, *, start_if_needed: bool, warn_if_started: bool = False
) -> Iterator[tuple[str, str]]:
    """(base_url, api_key) to call, for the duration of the command."""
    if getattr(args, "api_key", None) and not args.base_url:
        sys.stderr.write(KEY_IGNORED)
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

    if warn_if_started:
        sys.stderr.write(NOT_RUNNING.format(data_dir=settings.data_dir))
    with EmbeddedService(settings) as service:
        yield service.base_url, key
