"""`alto demo`: two first tasks end to end through the official Skyvern SDK, on this machine.

Without ANTHROPIC_API_KEY the model is a scripted stand-in (said plainly); with it, Claude.
"""

from __future__ import annotations

import argparse
import json
import os
import tempfile
import time
from contextlib import ExitStack
from pathlib import Path
from typing import Any

from rich.console import Console

TERMINAL = {"completed", "failed", "terminated", "timed_out", "canceled"}


def register(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    parser = subparsers.add_parser("demo", help="run two example tasks end to end on this machine")
    parser.add_argument("--url", help="the page to run on (default: a page bundled with the demo)")
    parser.add_argument("--data-dir", type=Path, help="keep the demo's runs here (default: a new temp dir)")
    parser.add_argument(
        "--engine",
        choices=["skyvern-2.0", "openai-cua", "anthropic-cua", "ui-tars"],
        default="skyvern-2.0",
        help="the agent engine (the computer-use ones run offline with a scripted model)",
    )
    parser.set_defaults(handler=demo)


def demo(args: argparse.Namespace) -> int:
    console = Console(highlight=False)
    try:
        from skyvern.client import Skyvern
    except ImportError:
        console.print("The demo drives the server with the official Skyvern SDK; run scripts/setup.sh first.")
        return 2
    from altostratus.demo.scripted import PRODUCT_SCHEMA, scripted_model
    from altostratus.demo.site import bundled_site
    from altostratus.devtools.fake_anthropic.server import FakeAnthropicServer
    from altostratus.runtimes.embedded import EmbeddedService
    from altostratus.runtimes.settings import load_settings

    data_dir = args.data_dir or Path(tempfile.mkdtemp(prefix="alto-demo-"))
    claude_key = os.environ.get("ANTHROPIC_API_KEY")
    engine = args.engine
    cua = engine != "skyvern-2.0"
    with ExitStack() as stack:
        url = args.url or stack.enter_context(bundled_site())
        extra: dict[str, Any] = {}
        if cua:
            from altostratus.demo.scripted import scripted_computer
            from altostratus.devtools.fake_openai.server import FakeOpenAIServer

            script = scripted_computer()
            fake = stack.enter_context(FakeAnthropicServer(scripted_model(script)))
            other = stack.enter_context(FakeOpenAIServer(script))
            console.print(
                f"[bold yellow]The {engine} model is SCRIPTED[/] — a local stand-in for the provider's "
                "computer-use model, speaking its real wire format. The browser, the screenshots, the "
                "engine, the API and the SDK are real."
            )
            model_key, model_url = fake.api_key, fake.base_url
            extra = {
                "openai_api_key": other.api_key,
                "openai_base_url": other.base_url,
                "ui_tars_base_url": other.base_url,
                "ui_tars_api_key": other.api_key,
            }
        elif claude_key:
            console.print("[bold]Using Claude[/] (ANTHROPIC_API_KEY is set).")
            model_key, model_url = claude_key, None
        else:
            fake = stack.enter_context(FakeAnthropicServer(scripted_model()))
            console.print(
                "[bold yellow]No ANTHROPIC_API_KEY: the model is SCRIPTED[/] — a local stand-in that reads "
                "the page and answers these two tasks. The browser, the agent loop, the API and the SDK "
                "are real. Set ANTHROPIC_API_KEY to use Claude (and --url for any page)."
            )
            model_key, model_url = fake.api_key, fake.base_url
        settings = load_settings(
            data_dir=data_dir, port=0, anthropic_api_key=model_key, anthropic_base_url=model_url, **extra
        )
        service = EmbeddedService(settings)
        api_key = service.runtime.ensure_dev_key() or _cli_key(settings)
        stack.enter_context(service)
        console.print(f"Embedded server on {service.base_url}; runs are kept in {data_dir}\n")
        client = Skyvern(base_url=service.base_url, api_key=api_key, timeout=60)
        tasks: list[tuple[str, dict[str, Any] | None]] = [
            ("What is the title of this page?", None),
            ("Extract the product's name, SKU, price and how many are in stock.", PRODUCT_SCHEMA),
        ]
        completed = 0
        for prompt, schema in tasks:
            console.print(f"[bold]Task:[/] {prompt}  [dim]({url})[/]")
            run = client.run_task(prompt=prompt, url=url, data_extraction_schema=schema, engine=engine)
            final = _follow(client, run.run_id, console)
            completed += final.status == "completed"
            timeline = client.get_run_timeline(run.run_id)
            console.print(
                f"  {final.status} in {final.step_count} step(s); {len(timeline)} timeline entries, "
                f"{len(final.screenshot_urls or [])} screenshot(s)"
            )
            if final.status == "completed":
                console.print("  output: " + json.dumps(final.output, ensure_ascii=False))
            else:
                console.print(f"  [red]{final.failure_reason}[/]")
            console.print()
    return 0 if completed == len(tasks) else 1


def _follow(client: Any, run_id: str, console: Console, timeout_s: float = 300) -> Any:
    deadline = time.monotonic() + timeout_s
    shown = None
    while True:
        run = client.get_run(run_id)
        if run.status != shown:
            console.print(f"  {run_id}: {run.status}")
            shown = run.status
        if run.status in TERMINAL or time.monotonic() > deadline:
            return run
        time.sleep(0.25)


def _cli_key(settings: Any) -> str:
    from altostratus.cli.target import cli_key

    return cli_key(settings)
