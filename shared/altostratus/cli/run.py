"""`alto run "PROMPT"`: submit a task, follow it live, print its output."""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path
from typing import Any

from rich.console import Console
from rich.live import Live
from rich.table import Table

from altostratus.cli.http import TERMINAL, ApiCallError, ApiClient
from altostratus.cli.target import add_target_options, api_target

POLL_S = 0.5


def register(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    parser = subparsers.add_parser("run", help="run a task and follow it")
    parser.add_argument("prompt", help="what the agent should do")
    parser.add_argument("--url", help="where the browser starts")
    parser.add_argument("--schema", type=Path, help="a JSON Schema file the output must match")
    parser.add_argument("--engine", default="skyvern-2.0", help="skyvern-1.0 or skyvern-2.0 (default)")
    parser.add_argument("--max-steps", type=int, help="step budget (default 10 for 1.0, 25 for 2.0)")
    parser.add_argument("--webhook-url", help="POSTed the result when the run ends")
    add_target_options(parser)
    parser.set_defaults(handler=run)


def build_request(args: argparse.Namespace) -> dict[str, Any]:
    request: dict[str, Any] = {"prompt": args.prompt, "engine": args.engine}
    if args.url:
        request["url"] = args.url
    if args.max_steps is not None:
        request["max_steps"] = args.max_steps
    if args.webhook_url:
        request["webhook_url"] = args.webhook_url
    if args.schema:
        try:
            request["data_extraction_schema"] = json.loads(args.schema.read_text())
        except (OSError, ValueError) as exc:
            raise SystemExit(f"cannot read the schema {args.schema}: {exc}") from exc
    return request


def progress_table(run: dict[str, Any], timeline: list[dict[str, Any]]) -> Table:
    table = Table(show_header=False, box=None, pad_edge=False)
    table.add_row("run", f"{run['run_id']}  [bold]{run['status']}[/]")
    table.add_row("steps", str(run.get("step_count") or 0))
    blocks = [e["block"] for e in timeline if e.get("block")]
    if blocks:
        last = blocks[-1]
        actions = last.get("actions") or []
        if actions:
            action = actions[-1]
            what = action["action_type"] + (f" {action['element_id']}" if action.get("element_id") else "")
            table.add_row("action", f"{what} ({action.get('status')})")
            if action.get("reasoning"):
                table.add_row("why", str(action["reasoning"])[:200])
        if last.get("url"):
            table.add_row("page", str(last["url"]))
    return table


def follow(client: ApiClient, run_id: str, console: Console) -> dict[str, Any]:
    run = client.get_run(run_id)
    with Live(progress_table(run, []), console=console, refresh_per_second=4, transient=False) as live:
        while run["status"] not in TERMINAL:
            time.sleep(POLL_S)
            run = client.get_run(run_id)
            live.update(progress_table(run, client.timeline(run_id)))
    return run


def run(args: argparse.Namespace) -> int:
    err = Console(stderr=True, highlight=False)
    request = build_request(args)
    try:
        with api_target(args, start_if_needed=True) as (base_url, key), ApiClient(base_url, key) as client:
            created = client.run_task(request)
            run_id = created["run_id"]
            try:
                final = follow(client, run_id, err)
            except KeyboardInterrupt:
                client.cancel(run_id)
                err.print(f"Canceled {run_id}.")
                return 130
    except ApiCallError as exc:
        err.print(f"[red]{exc}[/]")
        return 2
    sys.stdout.write(json.dumps(final.get("output"), indent=2, ensure_ascii=False) + "\n")
    if final["status"] != "completed":
        err.print(f"[red]Run {run_id} {final['status']}:[/] {final.get('failure_reason') or ''}")
        return 1
    return 0
