"""The credit ledger in Redis/Valkey: one stream per key, `<prefix>:quota:ledger:<key id>`.

Each entry holds `at` (epoch ms), `kind`, `credits` (signed), `balance` ('' unknown), `job` and
`reason`. Entry ids grow with time and are the read cursors (see lua/ledger_append.lua). The
local store's scripts append in the same atomic step as the balance change they make; `append`
here is for changes made elsewhere (Unkey's balance, seen by imagegate).
"""

from __future__ import annotations

import re
from datetime import UTC, datetime
from typing import Any

import redis.asyncio

from adapters.redis_ops import load_script, store_errors
from domain.errors import InvalidRequest
from domain.operators import LedgerEntry, LedgerKind

DAY_SECONDS = 86_400
# A stream id: ms-seq, each part below 2**64 (19 digits at most; Redis refuses larger ones).
STREAM_ID_PATTERN = "^[0-9]{1,19}-[0-9]{1,19}$"
_STREAM_ID = re.compile(r"[0-9]{1,19}-[0-9]{1,19}", re.ASCII)
_BATCH = 1000


def ms(moment: datetime) -> int:
    return int(moment.timestamp() * 1000)


def from_ms(value: int | str) -> datetime:
    return datetime.fromtimestamp(int(value) / 1000, UTC)


def _text(value: Any) -> str:
    return value.decode() if isinstance(value, bytes) else str(value)


def decode_entry(fields: dict[Any, Any]) -> LedgerEntry:
    entry = {_text(name): _text(value) for name, value in fields.items()}
    return LedgerEntry(
        at=from_ms(entry["at"]),
        kind=LedgerKind(entry["kind"]),
        credits=int(entry["credits"]),
        balance=int(entry["balance"]) if entry.get("balance") else None,
        job_id=entry.get("job") or None,
        reason=entry.get("reason") or None,
    )


class RedisCreditLedger:
    """CreditLedger over Redis/Valkey. The client is the caller's: this never closes it."""

    def __init__(
        self, client: redis.asyncio.Redis, *, key_prefix: str = "ig", ttl_days: int = 90
    ) -> None:
        self._redis = client
        self._prefix = f"{key_prefix}:quota:ledger:"
        self._ttl_seconds = ttl_days * DAY_SECONDS
        self._append = client.register_script(load_script("ledger_write.lua"))

    def stream(self, key_id: str) -> str:
        return self._prefix + key_id

    async def append(self, key_id: str, entry: LedgerEntry) -> None:
        balance = "" if entry.balance is None else entry.balance
        await self._append(
            keys=[self.stream(key_id)],
            args=[
                ms(entry.at),
                entry.kind.value,
                entry.credits,
                balance,
                entry.job_id or "",
                entry.reason or "",
                self._ttl_seconds,
            ],
        )

    async def page(
        self, key_id: str, *, cursor: str | None, limit: int
    ) -> tuple[list[LedgerEntry], str | None]:
        if cursor is not None and not _STREAM_ID.fullmatch(cursor):
            raise InvalidRequest("The cursor is not one this API gave.", field="cursor")
        if cursor is not None and all(int(part) == 0 for part in cursor.split("-")):
            return [], None  # nothing comes before the smallest id (Redis refuses "(0-0")
        newest = "+" if cursor is None else f"({cursor}"
        stream = self.stream(key_id)
        with store_errors():
            reply = await self._redis.xrevrange(stream, newest, "-", count=limit + 1)
        rows: list[Any] = reply or []
        page = rows[:limit]
        more = len(rows) > limit
        return [decode_entry(fields) for _, fields in page], _text(page[-1][0]) if more else None

    async def between(
        self, key_id: str, start: datetime | None, end: datetime | None
    ) -> list[LedgerEntry]:
        # Ids are never below `at`, so [start, end) by id holds every entry by `at` except
        # those written under a clock running behind another's: filter by `at` to be exact.
        # Stream ids are >= 0: a range that starts before 1970 starts at the first entry, and
        # one that ends before it holds none.
        low = "-" if start is None else str(max(0, ms(start)))
        if end is not None and ms(end) <= 0:
            return []
        high = "+" if end is None else str(ms(end) - 1)  # up to the last id of end - 1 ms
        entries: list[LedgerEntry] = []
        stream = self.stream(key_id)
        while True:
            with store_errors():
                batch = await self._redis.xrange(stream, low, high, count=_BATCH)
            rows: list[Any] = batch or []
            entries += [decode_entry(fields) for _, fields in rows]
            if len(rows) < _BATCH:
                break
            low = f"({_text(rows[-1][0])}"
        return [
            e for e in entries if (start is None or e.at >= start) and (end is None or e.at < end)
        ]
