"""`alto snapshot URL_OR_FILE`: print the page as the agent's model would see it."""

from __future__ import annotations

import argparse
import asyncio
import functools
import json
import sys
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import quote

from rich.console import Console


def register(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    parser = subparsers.add_parser(
        "snapshot",
        help="print a page as the agent's model sees it",
        description=(
            "Open a URL (or a saved HTML file, served from 127.0.0.1 with every other host blocked) "
            "in headless Chromium and print its snapshot: the viewport in detail and the rest as an "
            "outline, or with --full the whole page."
        ),
    )
    parser.add_argument("target", metavar="URL_OR_FILE", help="an http(s) URL or a path to an HTML file")
    parser.add_argument(
        "--full", action="store_true", help="list every element of the page, not just the viewport"
    )
    parser.add_argument(
        "--json", action="store_true", help='print {"text", "elements", "tokens", "ms"} as JSON'
    )
    parser.add_argument(
        "--viewport", default="1280x720", help="viewport size WIDTHxHEIGHT (default 1280x720)"
    )
    parser.add_argument(
        "--ax", action="store_true", help="also read Chromium's accessibility tree (exact names; slower)"
    )
    parser.add_argument("--chromium", help="path of the Chromium executable (ALTO_CHROMIUM_PATH)")
    parser.set_defaults(handler=snapshot_command)


class _QuietHandler(SimpleHTTPRequestHandler):
    def log_message(self, format: str, *args: Any) -> None:
        return


@contextmanager
def _serve_folder(folder: Path) -> Iterator[str]:
    server = ThreadingHTTPServer(("127.0.0.1", 0), functools.partial(_QuietHandler, directory=str(folder)))
    server.daemon_threads = True
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()


def _viewport(text: str) -> tuple[int, int]:
    width, _, height = text.lower().partition("x")
    try:
        return int(width), int(height)
    except ValueError:
        raise SystemExit(f"alto snapshot: --viewport must look like 1280x720, not {text!r}") from None


async def _take(
    url: str, args: argparse.Namespace, *, offline: bool, allowed: str, chromium: str | None
) -> dict[str, Any]:
    from altostratus.adapters.browser import BrowserRuntime, LaunchConfig, SessionConfig, Viewport
    from altostratus.security.targets import TargetPolicy

    width, height = _viewport(args.viewport)
    policy = TargetPolicy.parse(allowed, allow_loopback=True, allow_public=not offline)
    runtime = await BrowserRuntime.start(LaunchConfig(executable_path=chromium), policy=policy)
    try:
        session = await runtime.new_session(
            SessionConfig(
                viewport=Viewport(width=width, height=height), perception="ax" if args.ax else "dom"
            )
        )
        report = await session.goto(url)
        if not report.ok:
            return {"error": report.summary}
        snapshot = await session.snapshot(full=args.full)
        return {"snapshot": snapshot, "policy": policy.describe()}
    finally:
        await runtime.close()


def snapshot_command(args: argparse.Namespace) -> int:
    from altostratus.runtimes.settings import load_settings

    settings = load_settings()
    chromium = args.chromium or settings.chromium_path
    console = Console(stderr=True, highlight=False)
    path = Path(args.target).expanduser()
    if path.is_file():
        with _serve_folder(path.resolve().parent) as base:
            url = f"{base}/{quote(path.name)}"
            result = asyncio.run(_take(url, args, offline=True, allowed="", chromium=chromium))
    else:
        result = asyncio.run(
            _take(args.target, args, offline=False, allowed=settings.allowed_targets, chromium=chromium)
        )
    if "error" in result:
        console.print(f"[red]{result['error']}[/]")
        return 1
    snapshot = result["snapshot"]
    if args.json:
        sys.stdout.write(json.dumps(snapshot.public(), ensure_ascii=False) + "\n")
        return 0
    sys.stdout.write(snapshot.text + "\n")
    console.print(
        f"[dim]{len(snapshot.elements)} elements, {snapshot.tokens} tokens (cl100k_base), "
        f"{snapshot.ms:.0f} ms. {result['policy']}[/]"
    )
    return 0
