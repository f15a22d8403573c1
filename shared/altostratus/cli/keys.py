"""`alto keys create|list`: API keys of an organization (created if new), in the embedded data
directory, or with ALTO_RUNTIME=aws in a deployment's tables (AWS credentials from the usual
places; ALTO_STATE_TABLE and the master key's ALTO_MASTER_KEY_SECRET_ARN say which)."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Iterator
from contextlib import contextmanager

from rich.console import Console

from altostratus.cli.serve import add_common_options, settings_from
from altostratus.ports.keys import KeyStore


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


@contextmanager
def key_store(args: argparse.Namespace) -> Iterator[KeyStore]:
    settings = settings_from(args)
    if settings.runtime == "aws":
        from altostratus.runtimes.aws import build_aws

        yield build_aws(settings).keys
        return
    from altostratus.runtimes.local import build_local

    runtime = build_local(settings)
    try:
        yield runtime.keys
    finally:
        runtime.close()


def create_key(args: argparse.Namespace) -> int:
    with key_store(args) as keys:
        org = keys.org_by_name(args.org) or keys.create_org(args.org)
        record, raw = keys.create_key(org.org_id, label=args.label)
    err = Console(stderr=True, highlight=False)
    err.print(
        f"Created key {record.key_id} for organization {org.name!r} ({org.org_id}); it is shown only once."
    )
    sys.stdout.write(raw + "\n")
    return 0


def list_keys(args: argparse.Namespace) -> int:
    with key_store(args) as keys:
        org = keys.org_by_name(args.org)
        if org is None:
            Console(stderr=True).print(f"No organization named {args.org!r}.")
            return 1
        console = Console(highlight=False)
        for record in keys.list_keys(org.org_id):
            console.print(
                f"{record.key_id}  …{record.hint}  {record.created_at:%Y-%m-%d}  {record.label or ''}"
            )
    return 0
