"""`alto run "PROMPT"`: submit a task, follow it live (elapsed time, the step and the action in
progress), print its output; `--json` prints the whole run instead, `--no-wait` only submits."""

from __future__ import annotations

import argparse
import json
import sys
import time
from datetime import UTC, datetime
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
    parser.add_argument(
        "--json", action="store_true", help="print the whole run as JSON (no live view) instead of its output"
    )
    parser.add_argument(
        "--no-wait",
        action="store_true",
        help="submit and print the run id (the run as JSON with --json) without following it",
    )
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


def _moment(value: Any) -> datetime | None:
    """A wire timestamp (ISO 8601, naive UTC) as an aware datetime."""
    if not value:
        return None
    try:
        moment = datetime.fromisoformat(str(value))
    except ValueError:
        return None
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def elapsed(run: dict[str, Any], now: datetime | None = None) -> str:
    """How long the run has been going (or went): from its start, or its creation while queued."""
    start = _moment(run.get("started_at")) or _moment(run.get("created_at"))
    if start is None:
        return "-"
    end = _moment(run.get("finished_at")) or now or datetime.now(UTC)
    seconds = max(0.0, (end - start).total_seconds())
    if seconds < 60:
        return f"{seconds:.1f} s"
    minutes, rest = divmod(int(seconds), 60)
    return f"{minutes} min {rest:02d} s"


def progress_table(run: dict[str, Any], timeline: list[dict[str, Any]]) -> Table:
    table = Table(show_header=False, box=None, pad_edge=False)
    table.add_row("run", f"{run['run_id']}  [bold]{run['status']}[/]")
    table.add_row("elapsed", elapsed(run))
    table.add_row("steps", str(run.get("step_count") or 0))
    blocks = [e["block"] for e in timeline if e.get("block")]
    if blocks:
        last = blocks[-1]
        actions = last.get("actions") or []
        if actions:
            action = actions[-1]
            what = action["action_type"] + (f" {action['element_id']}" if action.get("element_id") else "")
            status = action.get("status")
            in_progress = run["status"] not in TERMINAL and status in (None, "pending", "running")
            table.add_row("action", f"{what} ({'in progress' if in_progress else status})")
            if action.get("reasoning"):
                table.add_row("why", str(action["reasoning"])[:200])
        elif run["status"] not in TERMINAL:
            table.add_row("action", f"{last.get('label') or 'step'}: thinking")
        if last.get("url"):
            table.add_row("page", str(last["url"]))
    if run.get("failure_reason"):
        table.add_row("reason", str(run["failure_reason"])[:300])
    return table


def follow(client: ApiClient, run_id: str, console: Console) -> dict[str, Any]:
    run = client.get_run(run_id)
    timeline = client.timeline(run_id)
    with Live(progress_table(run, timeline), console=console, refresh_per_second=4, transient=False) as live:
        while run["status"] not in TERMINAL:
            time.sleep(POLL_S)
            run = client.get_run(run_id)
            timeline = client.timeline(run_id)
            live.update(progress_table(run, timeline))
    return run


def wait(client: ApiClient, run_id: str) -> dict[str, Any]:
    run = client.get_run(run_id)
    while run["status"] not in TERMINAL:
        time.sleep(POLL_S)
        run = client.get_run(run_id)
    return run


def report(final: dict[str, Any], *, as_json: bool, err: Console) -> int:
    """The run's output (or the whole run) on stdout; non-zero unless it completed."""
    shown = final if as_json else final.get("output")
    sys.stdout.write(json.dumps(shown, indent=2, ensure_ascii=False) + "\n")
    if final["status"] != "completed":
        err.print(f"[red]Run {final['run_id']} {final['status']}:[/] {final.get('failure_reason') or ''}")
        return 1
    return 0


def run(args: argparse.Namespace) -> int:
    err = Console(stderr=True, highlight=False)
    request = build_request(args)
    try:
        with (
            api_target(args, start_if_needed=True, warn_if_started=args.no_wait) as (base_url, key),
            ApiClient(base_url, key) as client,
        ):
            created = client.run_task(request)
            run_id = created["run_id"]
            if args.no_wait:
                if args.json:
                    sys.stdout.write(json.dumps(created, indent=2, ensure_ascii=False) + "\n")
                else:
                    sys.stdout.write(run_id + "\n")
                    err.print(f"Follow it with: alto runs watch {run_id}")
                return 0
            try:
                final = wait(client, run_id) if args.json else follow(client, run_id, err)
            except KeyboardInterrupt:
                client.cancel(run_id)
                err.print(f"Canceled {run_id}.")
                return 130
    except ApiCallError as exc:
        err.print(f"[red]{exc}[/]")
        return 2
    return report(final, as_json=args.json, err=err)
