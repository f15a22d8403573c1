"""`alto sessions create|list|get|close`: browser sessions kept between runs (embedded or
deployed). Each says on stderr which organization the key belongs to."""

from __future__ import annotations

import argparse
import sys
from typing import Any

from rich.console import Console
from rich.table import Table

from altostratus.cli.api_command import print_json, with_api
from altostratus.cli.http import ApiClient
from altostratus.cli.target import add_target_options


def register(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    parser = subparsers.add_parser("sessions", help="create, list, inspect and close browser sessions")
    actions = parser.add_subparsers(dest="action", metavar="ACTION")
    actions.required = True
    create = actions.add_parser("create", help="start a browser session; prints its id on stdout")
    create.add_argument("--timeout", type=int, help="minutes, counted from the start (default 60)")
    create.add_argument("--url", help="the page the session opens first")
    create.add_argument("--json", action="store_true", help="print the session as JSON")
    add_target_options(create)
    create.set_defaults(handler=_create)
    listing = actions.add_parser("list", help="the open sessions, newest first")
    listing.add_argument("--json", action="store_true", help="print JSON instead of a table")
    add_target_options(listing)
    listing.set_defaults(handler=_list)
    for name, help_text, handler in (
        ("get", "one session: its state, runs' files and recordings", _get),
        ("close", "close a session and its browser", _close),
    ):
        sub = actions.add_parser(name, help=help_text)
        sub.add_argument("session_id")
        if name == "get":
            sub.add_argument("--json", action="store_true", help="print the session as JSON")
        add_target_options(sub)
        sub.set_defaults(handler=handler)


def _when(value: Any) -> str:
    return str(value)[:19] if value else ""


def _table(sessions: list[dict[str, Any]]) -> Table:
    table = Table("session", "status", "timeout", "in use by", "created", "page")
    for session in sessions:
        table.add_row(
            session["browser_session_id"],
            session["status"],
            f"{session['timeout']} min",
            session.get("runnable_id") or "",
            _when(session.get("created_at")),
            session.get("app_url") or "",
        )
    return table


def _create(args: argparse.Namespace) -> int:
    def create(client: ApiClient) -> int:
        body = {k: v for k, v in (("timeout", args.timeout), ("url", args.url)) if v is not None}
        session = client.create_session(body)
        if session.get("warning"):
            Console(stderr=True, highlight=False).print(f"[yellow]{session['warning']}[/]")
        if args.json:
            return print_json(session)
        sys.stdout.write(session["browser_session_id"] + "\n")
        return 0

    return with_api(args, create)


def _list(args: argparse.Namespace) -> int:
    def show(client: ApiClient) -> int:
        sessions = client.list_sessions()
        if args.json:
            return print_json(sessions)
        Console().print(_table(sessions))
        return 0

    return with_api(args, show)


def _get(args: argparse.Namespace) -> int:
    def show(client: ApiClient) -> int:
        session = client.get_session(args.session_id)
        if args.json:
            return print_json(session)
        console = Console(highlight=False)
        console.print(_table([session]))
        facts = Table("", "", show_header=False, box=None)
        for label, key in (
            ("started", "started_at"),
            ("ended", "completed_at"),
            ("CDP address", "browser_address"),
        ):
            facts.add_row(label, _when(session.get(key)) if key.endswith("_at") else session.get(key) or "")
        console.print(facts)
        for title, key in (("downloaded files", "downloaded_files"), ("recordings", "recordings")):
            files = session.get(key) or []
            if not files:
                console.print(f"No {title}.")
                continue
            table = Table("file", "bytes", "stored", "link", title=title)
            for item in files:
                table.add_row(
                    item.get("filename") or item.get("artifact_id") or "",
                    str(item.get("file_size") or ""),
                    _when(item.get("modified_at")),
                    item["url"],
                )
            console.print(table)
        return 0

    return with_api(args, show)


def _close(args: argparse.Namespace) -> int:
    def close(client: ApiClient) -> int:
        client.close_session(args.session_id)
        Console(stderr=True).print(f"Closed {args.session_id}.")
        return 0

    return with_api(args, close)
