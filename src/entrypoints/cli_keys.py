"""`imagegate keys …`: the operator's use cases (OperatorService) from a terminal, on whichever
quota provider the settings name — the same calls `/v1/admin` makes. Tables for people,
`--json` for scripts. The raw key is printed once, by `create` and `reroll`."""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
from collections.abc import Sequence
from typing import Any

import msgspec

from domain.errors import DomainError
from domain.operator_service import OperatorService
from domain.operators import KeyView
from entrypoints.settings import Settings

VIEW_COLUMNS = ("key_id", "start", "plan", "name", "external_id", "enabled", "remaining")


def add_parser(commands: Any) -> None:
    keys = commands.add_parser("keys", help="operator key management (create, list, credits, ...)")
    keys.add_argument("--json", action="store_true", help="print JSON instead of tables")
    verbs = keys.add_subparsers(dest="verb", required=True)
    create = verbs.add_parser("create", help="create a key on a plan (prints the key once)")
    create.add_argument("--plan", required=True)
    create.add_argument("--name")
    create.add_argument("--external-id")
    create.add_argument("--credits", type=int, help="starting balance instead of the plan's")
    listing = verbs.add_parser("list", help="list keys")
    listing.add_argument("--plan")
    listing.add_argument("--external-id")
    listing.add_argument("--limit", type=int, default=100)
    for verb in ("show", "disable", "enable", "revoke", "usage"):
        verbs.add_parser(verb).add_argument("key_id")
    credits = verbs.add_parser("credits", help="set, add or subtract credits")
    credits.add_argument("key_id")
    change = credits.add_mutually_exclusive_group(required=True)
    change.add_argument("--set", type=int, dest="set_to")
    change.add_argument("--add", type=int)
    change.add_argument("--sub", type=int)
    credits.add_argument("--reason")
    reroll = verbs.add_parser("reroll", help="a new key for this one (prints the key once)")
    reroll.add_argument("key_id")
    reroll.add_argument("--grace", type=int, default=0, help="seconds the old key keeps working")


def view_row(view: KeyView) -> dict[str, Any]:
    return {
        "key_id": view.key_id, "start": view.start, "plan": view.plan, "name": view.name,
        "external_id": view.external_id, "enabled": view.enabled, "remaining": view.remaining,
        "expires_at": view.expires_at, "meta": dict(view.meta),
    }  # fmt: skip


def table(rows: Sequence[dict[str, Any]], columns: Sequence[str]) -> str:
    cells = [[("" if row.get(c) is None else str(row.get(c))) for c in columns] for row in rows]
    widths = [max([len(c), *(len(line[i]) for line in cells)]) for i, c in enumerate(columns)]
    lines = [list(columns), *cells]
    return "\n".join(
        "  ".join(v.ljust(w) for v, w in zip(line, widths, strict=True)).rstrip() for line in lines
    )


async def _run(args: argparse.Namespace, operators: OperatorService) -> tuple[Any, str]:
    """What the verb answers: the data (for --json) and its table."""
    verb = args.verb
    if verb == "create":
        issued, view = await operators.create_key(
            args.plan, name=args.name, external_id=args.external_id, credits=args.credits
        )
        row = {"key": issued.key, **view_row(view)}
        return row, table([row], ("key", *VIEW_COLUMNS)) + "\nThe key is shown only now."
    if verb == "list":
        views, _ = await operators.list_keys(
            plan=args.plan, external_id=args.external_id, limit=args.limit
        )
        rows = [view_row(v) for v in views]
        return rows, table(rows, VIEW_COLUMNS)
    if verb in ("show", "disable", "enable"):
        if verb == "show":
            view = await operators.show_key(args.key_id)
        else:
            view = await operators.patch_key(args.key_id, enabled=verb == "enable")
        row = view_row(view)
        return row, table([row], (*VIEW_COLUMNS, "expires_at"))
    if verb == "credits":
        operation, value = next(
            (op, v) for op, v in (("set", args.set_to), ("increment", args.add),
                                  ("decrement", args.sub)) if v is not None
        )  # fmt: skip
        change = await operators.change_credits(args.key_id, operation, value, reason=args.reason)
        return {"remaining": change.after}, f"remaining: {change.after}"
    if verb == "reroll":
        issued = await operators.reroll_key(args.key_id, args.grace)
        row = {"key": issued.key, "key_id": issued.key_id}
        return row, table([row], ("key", "key_id")) + "\nThe key is shown only now."
    if verb == "revoke":
        await operators.revoke_key(args.key_id)
        return {"revoked": args.key_id}, f"revoked {args.key_id}"
    page = await operators.usage(args.key_id, limit=100)
    rows = [
        {"at": e.at, "kind": e.kind.value, "credits": e.credits, "balance": e.balance,
         "job_id": e.job_id, "reason": e.reason} for e in page.entries
    ]  # fmt: skip
    totals = page.totals
    summary = f"charged {totals.charged}, refunded {totals.refunded}, net {totals.net}"
    data = {"data": rows, "totals": {"charged": totals.charged, "refunded": totals.refunded}}
    return data, table(
        rows, ("at", "kind", "credits", "balance", "job_id", "reason")
    ) + "\n" + summary


async def _main(args: argparse.Namespace, settings: Settings) -> int:
    from adapters.clock import SystemClock
    from entrypoints.factories import async_redis, build_operators

    client = async_redis(settings)
    operators, close = build_operators(settings, client, SystemClock())
    try:
        data, text = await _run(args, operators)
    except DomainError as exc:
        print(f"imagegate keys {args.verb}: {exc.code}: {exc.detail}", file=sys.stderr)
        return 1
    finally:
        await close()
        await client.aclose()
    print(json.dumps(msgspec.to_builtins(data)) if args.json else text)
    return 0


def run(args: argparse.Namespace, settings: Settings) -> int:
    return asyncio.run(_main(args, settings))
