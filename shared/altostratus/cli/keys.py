"""`alto keys create|list|revoke|rotate`: API keys, in the embedded data directory, or with
ALTO_RUNTIME=aws in a deployment's tables (AWS credentials from the usual places;
ALTO_STATE_TABLE and the master key's ALTO_MASTER_KEY_SECRET_ARN say which).

Only `create` and `rotate` print a raw key (once, on stdout); listings show ids, hints and
times, never a key or its hash. A revoked key is refused at once by the embedded server and
within ALTO_KEY_CACHE_SECONDS by a deployment's warm API functions; the webhooks of runs it
created stay signed with it.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from typing import Any

from rich.console import Console

from altostratus.cli.serve import add_common_options, settings_from
from altostratus.domain.keys import ApiKeyRecord, KeyRevokedError, UnknownKeyError
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
    listing = actions.add_parser("list", help="list keys: id, organization, created, last used, status")
    listing.add_argument("--org", help="only this organization's keys (default: every organization's)")
    listing.add_argument("--json", action="store_true", help="one JSON array, for scripts")
    add_common_options(listing)
    listing.set_defaults(handler=list_keys)
    revoke = actions.add_parser("revoke", help="revoke a key: it is refused from now on")
    revoke.add_argument("key_id", metavar="ID", help="the key's id (from `alto keys list`)")
    add_common_options(revoke)
    revoke.set_defaults(handler=revoke_key)
    rotate = actions.add_parser(
        "rotate", help="replace a key: print a new one (same organization and label), revoke the old"
    )
    rotate.add_argument("key_id", metavar="ID", help="the key's id (from `alto keys list`)")
    rotate.add_argument(
        "--grace-seconds",
        type=_seconds,
        default=0,
        help="keep the old key working this long, for clients to switch over (default 0: revoked now)",
    )
    add_common_options(rotate)
    rotate.set_defaults(handler=rotate_key)


def _seconds(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a number of seconds: {text!r}") from None
    if not 0 <= value <= 30 * 24 * 3600:
        raise argparse.ArgumentTypeError("the grace period is between 0 and 30 days (2592000 s)")
    return value


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


def _stderr() -> Console:
    return Console(stderr=True, highlight=False)


def create_key(args: argparse.Namespace) -> int:
    with key_store(args) as keys:
        org = keys.org_by_name(args.org) or keys.create_org(args.org)
        record, raw = keys.create_key(org.org_id, label=args.label)
    _stderr().print(
        f"Created key {record.key_id} for organization {org.name!r} ({org.org_id}); it is shown only once."
    )
    sys.stdout.write(raw + "\n")
    return 0


def _status(record: ApiKeyRecord, now: datetime) -> str:
    if record.revoked_at is None:
        return "active"
    if record.active_at(now):
        return f"active until {_when(record.revoked_at)}"
    return f"revoked {_when(record.revoked_at)}"


def _when(moment: datetime | None) -> str:
    return moment.astimezone(UTC).strftime("%Y-%m-%d %H:%M:%S") if moment else "never"


def _row(record: ApiKeyRecord, org_name: str, now: datetime) -> dict[str, Any]:
    # What a listing may show of a key: never the key, its hash or its sealed form.
    return {
        "key_id": record.key_id,
        "organization": org_name,
        "org_id": record.org_id,
        "label": record.label,
        "hint": record.hint,
        "created_at": record.created_at.isoformat(),
        "last_used_at": record.last_used_at.isoformat() if record.last_used_at else None,
        "revoked_at": record.revoked_at.isoformat() if record.revoked_at else None,
        "status": _status(record, now),
    }


def list_keys(args: argparse.Namespace) -> int:
    with key_store(args) as keys:
        orgs = {o.org_id: o.name for o in keys.list_orgs()}
        if args.org is None:
            records = keys.list_keys()
        else:
            org = keys.org_by_name(args.org)
            if org is None:
                _stderr().print(f"No organization named {args.org!r}.")
                return 1
            records = keys.list_keys(org.org_id)
    now = datetime.now(UTC)
    rows = [_row(r, orgs.get(r.org_id, r.org_id), now) for r in records]
    if args.json:
        sys.stdout.write(json.dumps(rows, indent=2) + "\n")
        return 0
    if not rows:
        _stderr().print("No keys yet: create one with `alto keys create --org NAME`.")
        return 0
    table = [
        ("ID", "ORGANIZATION", "KEY", "CREATED", "LAST USED", "STATUS", "LABEL"),
        *(
            (
                r.key_id,
                row["organization"],
                f"…{r.hint}",
                _when(r.created_at),
                _when(r.last_used_at),
                row["status"],
                r.label or "",
            )
            for r, row in zip(records, rows, strict=True)
        ),
    ]
    widths = [max(len(line[i]) for line in table) for i in range(len(table[0]))]
    for line in table:
        cells = (cell.ljust(width) for cell, width in zip(line, widths, strict=True))
        sys.stdout.write("  ".join(cells).rstrip() + "\n")
    return 0


def revoke_key(args: argparse.Namespace) -> int:
    with key_store(args) as keys:
        try:
            before = keys.get_key(args.key_id)
            record = keys.revoke_key(args.key_id)
        except UnknownKeyError:
            _stderr().print(f"No API key with id {args.key_id!r} (see `alto keys list`).")
            return 1
    if before is not None and before.revoked_at is not None and before.revoked_at == record.revoked_at:
        _stderr().print(f"Key {record.key_id} was already revoked ({_when(record.revoked_at)} UTC).")
    else:
        _stderr().print(f"Revoked key {record.key_id}: it is refused from now on.")
    return 0


def rotate_key(args: argparse.Namespace) -> int:
    with key_store(args) as keys:
        try:
            record, raw = keys.rotate_key(args.key_id, grace_seconds=args.grace_seconds)
        except UnknownKeyError:
            _stderr().print(f"No API key with id {args.key_id!r} (see `alto keys list`).")
            return 1
        except KeyRevokedError:
            _stderr().print(
                f"Key {args.key_id} is revoked or already rotated; create a new one with `alto keys create`."
            )
            return 1
    if args.grace_seconds:
        until = record.created_at + timedelta(seconds=args.grace_seconds)
        old = f"the old key {args.key_id} keeps working until {_when(until)} UTC"
    else:
        old = f"the old key {args.key_id} is revoked"
    _stderr().print(f"Created key {record.key_id} (shown only once); {old}.")
    sys.stdout.write(raw + "\n")
    return 0
