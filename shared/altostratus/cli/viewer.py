"""`alto open RUN_ID`: the run's page in the run viewer (its `app_url`), printed, and with
`--browser` opened in the default web browser."""

from __future__ import annotations

import argparse
import sys
import webbrowser

from rich.console import Console

from altostratus.cli.http import ApiCallError, ApiClient
from altostratus.cli.target import add_target_options, api_target


def register(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    parser = subparsers.add_parser("open", help="print (or open) a run's page in the run viewer")
    parser.add_argument("run_id")
    parser.add_argument("--browser", action="store_true", help="also open it in the default web browser")
    add_target_options(parser)
    parser.set_defaults(handler=open_run)


def viewer_url(base_url: str, run: dict[str, object]) -> str:
    """The run's own app_url; a server that sets none serves its viewer at <base>/runs/<id>."""
    app_url = run.get("app_url")
    return str(app_url) if app_url else f"{base_url.rstrip('/')}/runs/{run['run_id']}"


def open_run(args: argparse.Namespace) -> int:
    err = Console(stderr=True, highlight=False)
    try:
        with api_target(args, start_if_needed=False) as (base_url, key), ApiClient(base_url, key) as client:
            url = viewer_url(base_url, client.get_run(args.run_id))
    except ApiCallError as exc:
        err.print(f"[red]{exc}[/]")
        return 2
    sys.stdout.write(url + "\n")
    if args.browser and not webbrowser.open(url):
        err.print("No web browser could be started here; open the address above yourself.")
        return 1
    return 0
