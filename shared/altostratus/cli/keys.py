"""`alto keys create|list`: API keys of an organization (created if new)."""

from __future__ import annotations

import argparse
import sys

from rich.console import Console

from altostratus.cli.serve import add_common_options, settings_from


def register(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    parser = subparsers.add_parser("keys", help="manage API keys")
    actions = parser.add_subparsers(dest="action", metavar="ACTION")
    actions.required = True
    create = actions.add_parser("create", help="create a key (and the organization if it is new)")
    create.add_argument("--org", required=True, help="organization name")
    create.add_argument("--label", help="a note to tell keys apart")
    add_common_options(create)
    create.set_defaults(handler=create_key)
    listing = actions.add_parser("list", help="list an organization's keys (hints only)")
    listing.add_argument("--org", required=True)
    add_common_options(listing)
    listing.set_defaults(handler=list_keys)


def create_key(args: argparse.Namespace) -> int:
    from altostratus.runtimes.local import build_local

    runtime = build_local(settings_from(args))
    try:
        org = runtime.keys.org_by_name(args.org) or runtime.keys.create_org(args.org)
        record, raw = runtime.keys.create_key(org.org_id, label=args.label)
    finally:
        runtime.close()
    err = Console(stderr=True, highlight=False)
    err.print(
        f"Created key {record.key_id} for organization {org.name!r} ({org.org_id}); it is shown only once."
    )
    sys.stdout.write(raw + "\n")
    return 0


def list_keys(args: argparse.Namespace) -> int:
    from altostratus.runtimes.local import build_local

    runtime = build_local(settings_from(args))
    try:
        org = runtime.keys.org_by_name(args.org)
        if org is None:
            Console(stderr=True).print(f"No organization named {args.org!r}.")
            return 1
        console = Console(highlight=False)
        for record in runtime.keys.list_keys(org.org_id):
            console.print(
                f"{record.key_id}  …{record.hint}  {record.created_at:%Y-%m-%d}  {record.label or ''}"
            )
    finally:
        runtime.close()
    return 0
