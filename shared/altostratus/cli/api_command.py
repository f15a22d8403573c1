"""What every `alto` command that talks to the API shares: reaching it, saying whose key is used,
reporting its errors, and printing JSON."""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Callable
from typing import Any

from rich.console import Console

from altostratus.cli.http import ApiCallError, ApiClient
from altostratus.cli.target import api_target


def say_organization(client: ApiClient, err: Console) -> None:
    org = client.organization()
    if org is not None:
        err.print(f"Organization: {org['organization_name']} ({org['organization_id']})")


def with_api(args: argparse.Namespace, fn: Callable[[ApiClient], int]) -> int:
    """Run `fn` against the API the options name; an API error is printed and exits with 2."""
    try:
        with api_target(args, start_if_needed=False) as (base_url, key), ApiClient(base_url, key) as client:
            say_organization(client, Console(stderr=True, highlight=False))
            return int(fn(client))
    except ApiCallError as exc:
        Console(stderr=True).print(f"[red]{exc}[/]")
        return 2


def print_json(value: Any) -> int:
    sys.stdout.write(json.dumps(value, indent=2, ensure_ascii=False) + "\n")
    return 0
