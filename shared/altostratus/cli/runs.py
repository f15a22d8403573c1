"""`alto runs list|get|timeline|artifacts|cancel|watch`: look at runs (embedded or deployed).
Each says on stderr which organization the key belongs to (its runs are the ones shown)."""

from __future__ import annotations

import argparse

from rich.console import Console
from rich.table import Table

from altostratus.cli.api_command import print_json, with_api
from altostratus.cli.http import ApiClient
from altostratus.cli.run import follow, report
from altostratus.cli.target import add_target_options


def register(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    parser = subparsers.add_parser("runs", help="list and inspect runs")
    actions = parser.add_subparsers(dest="action", metavar="ACTION")
    actions.required = True
    listing = actions.add_parser("list", help="recent runs, newest first")
    listing.add_argument("--status", action="append", help="only runs in this status (repeatable)")
    listing.add_argument("--page-size", type=int, default=20)
    listing.add_argument("--json", action="store_true", help="print JSON instead of a table")
    add_target_options(listing)
    listing.set_defaults(handler=_list)
    for name, help_text, handler in (
        ("get", "one run as JSON", _get),
        ("timeline", "a run's steps, actions and reasoning", _timeline),
        ("artifacts", "a run's screenshots, pages and files", _artifacts),
        ("cancel", "cancel a run", _cancel),
        ("watch", "follow a run live until it ends, then print its output", _watch),
    ):
        sub = actions.add_parser(name, help=help_text)
        sub.add_argument("run_id")
        if name == "artifacts":
            sub.add_argument("--type", action="append", dest="types", help="artifact type (repeatable)")
            sub.add_argument("--json", action="store_true", help="print JSON instead of a table")
        if name == "watch":
            sub.add_argument("--json", action="store_true", help="print the whole run as JSON at the end")
        add_target_options(sub)
        sub.set_defaults(handler=handler)


def _list(args: argparse.Namespace) -> int:
    def show(client: ApiClient) -> int:
        runs = client.list_runs(status=args.status, page_size=args.page_size)
        if args.json:
            return print_json(runs)
        table = Table("run", "status", "steps", "created", "title")
        for run in runs:
            table.add_row(
                run["run_id"],
                run["status"],
                str(run.get("step_count", "")),
                run["created_at"][:19],
                run.get("title") or "",
            )
        Console().print(table)
        return 0

    return with_api(args, show)


def _get(args: argparse.Namespace) -> int:
    return with_api(args, lambda client: print_json(client.get_run(args.run_id)))


def _timeline(args: argparse.Namespace) -> int:
    def show(client: ApiClient) -> int:
        console = Console(highlight=False)
        for entry in client.timeline(args.run_id):
            if entry.get("thought"):
                console.print(f"[dim]{entry['order']:>3} thought[/] {entry['thought'].get('thought') or ''}")
                continue
            block = entry["block"]
            console.print(
                f"[bold]{entry['order']:>3} {block['label']}[/] {entry['status']}  {block.get('url') or ''}"
            )
            for action in block.get("actions") or []:
                target = f" {action['element_id']}" if action.get("element_id") else ""
                console.print(
                    f"      {action['action_type']}{target} ({action.get('status')}): "
                    f"{action.get('reasoning') or ''}"
                )
        return 0

    return with_api(args, show)


def _artifacts(args: argparse.Namespace) -> int:
    def show(client: ApiClient) -> int:
        items = client.artifacts(args.run_id, args.types)
        if args.json:
            return print_json(items)
        table = Table("artifact", "type", "bytes", "step", "link")
        for item in items:
            table.add_row(
                item["artifact_id"],
                item["artifact_type"],
                str(item.get("file_size") or ""),
                item.get("step_id") or "",
                item.get("signed_url") or "",
            )
        Console().print(table)
        return 0

    return with_api(args, show)


def _cancel(args: argparse.Namespace) -> int:
    def cancel(client: ApiClient) -> int:
        client.cancel(args.run_id)
        Console(stderr=True).print(f"Asked {args.run_id} to stop.")
        return 0

    return with_api(args, cancel)


def _watch(args: argparse.Namespace) -> int:
    err = Console(stderr=True, highlight=False)

    def watch(client: ApiClient) -> int:
        try:
            final = follow(client, args.run_id, err)
        except KeyboardInterrupt:
            err.print(
                f"Stopped watching {args.run_id}; it goes on (alto runs cancel {args.run_id} stops it)."
            )
            return 130
        return report(final, as_json=args.json, err=err)

    return with_api(args, watch)
