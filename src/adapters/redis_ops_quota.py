"""The local quota store's Redis operations, sans I/O (see `redis_ops`), and where a key lives.

Layout (``ig`` is the key prefix):

- ``ig:quota:key:<sha256 of the key>`` — a hash: ``id``, ``start``, ``remaining``, the refill
  setting (``interval``, ``amount``, ``day``), ``refilled_at`` (the last refill boundary
  applied, epoch seconds), ``created_at``, ``plan`` and the operator's fields. The raw key is
  never stored.
- ``ig:quota:id:<key id>`` — the SHA-256 of that key, for refunds and revocation by key id.
- ``ig:quota:ledger:<key id>`` — the key's credit ledger (a stream, see `redis_ledger`); the
  charge, refill and refund scripts append to it in the same step as the balance change.
- ``ig:quota:refunded:<job id>`` — set by a job's refund, so a retried refund is not made twice.

The refund and revoke scripts reach the record through the index entry, a key name built inside
the script: fine on a single Redis/Valkey, not on Redis Cluster.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import redis
from redis.typing import EncodableT

from adapters.redis_jobs_codec import JobKeys, encode_draft, index_member, ms, record_bounds
from adapters.redis_ledger import DAY_SECONDS
from adapters.redis_ops import Op, text
from domain.credits import last_refill_at
from domain.errors import QuotaUnavailable
from domain.models import Charge, JobDraft, KeyStatus, Refill, RefillInterval

log = logging.getLogger("imagegate.quota")

STALE_REFILL = "STALE_REFILL"


@dataclass(frozen=True, slots=True)
class QuotaLayout:
    """Where a key lives; shared by the API's provider and the worker's refunder."""

    prefix: str = "ig"
    ledger_ttl_days: int = 90  # LEDGER_TTL_DAYS: how long ledger entries are kept

    @property
    def ledger_ttl_seconds(self) -> int:
        return self.ledger_ttl_days * DAY_SECONDS

    @property
    def keyspace(self) -> str:
        """What every key of the quota store starts with (the key-admin scripts' `<p>`)."""
        return f"{self.prefix}:quota:"

    @property
    def ledger_prefix(self) -> str:
        return f"{self.prefix}:quota:ledger:"

    def refund_mark(self, job_id: str | None) -> str:
        """Marks a job's refund as made, so a retried refund is not made twice."""
        return f"{self.prefix}:quota:refunded:{job_id}" if job_id else ""

    @property
    def record_prefix(self) -> str:
        return f"{self.prefix}:quota:key:"

    def record(self, digest: str) -> str:
        return self.record_prefix + digest

    def index(self, key_id: str) -> str:
        return f"{self.prefix}:quota:id:{key_id}"


DEFAULT_LAYOUT = QuotaLayout()  # prefix `ig`, ledger kept 90 days


def unavailable(operation: str) -> Callable[[redis.RedisError], Exception]:
    def translate(exc: redis.RedisError) -> Exception:
        log.warning("quota store %s failed: %r", operation, exc)
        return QuotaUnavailable()

    return translate


@dataclass(frozen=True, slots=True)
class Verdict:
    status: str
    key_id: str | None = None
    remaining: int | None = None
    refill: Refill | None = None
    start: str = ""
    plan: str | None = None

    @classmethod
    def parse(cls, reply: list[Any]) -> Verdict:
        """lib_quota_charge.lua's reply: {status, key_id, remaining, interval, amount, day,
        start, plan}; the plan lets the operator's credit alerts use the key's own thresholds."""
        status = text(reply[0])
        if status == KeyStatus.NOT_FOUND:
            return cls(status)
        key_id, remaining, interval, amount, day, start = reply[1:7]
        refill = None
        if text(interval) != RefillInterval.NONE:
            refill = Refill(RefillInterval(text(interval)), int(amount), int(day))
        plan = text(reply[7]) if len(reply) > 7 else None
        return cls(status, text(key_id), int(remaining), refill, text(start), plan)

    def charge(self) -> Charge:
        return Charge(
            KeyStatus(self.status), self.key_id, self.remaining, self.refill, plan=self.plan
        )


def refill_args(refill: Refill | None, now: datetime) -> list[EncodableT]:
    """ARGV[2..4] of a charge: the refill setting the caller believes the key has."""
    boundary = last_refill_at(refill, now)
    if refill is None or boundary is None:
        return [RefillInterval.NONE.value, 0, ""]
    return [refill.interval.value, refill.day, int(boundary.timestamp())]


def charge(
    layout: QuotaLayout, digest: str, cost: int, belief: Sequence[EncodableT], now: datetime
) -> Op[Verdict]:
    ledger = [ms(now), layout.ledger_prefix, layout.ledger_ttl_seconds, ""]
    return Op(
        "quota_charge.lua", [layout.record(digest)], [cost, *belief, *ledger], Verdict.parse,
        unavailable("charge"),
    )  # fmt: skip


def admit(
    layout: QuotaLayout,
    jobs: JobKeys,
    digest: str,
    draft: JobDraft,
    belief: Sequence[EncodableT],
    publish: tuple[str, str, int] | None = None,
) -> Op[Verdict]:
    """Charge as `charge` does and, if it passes, record `draft` owned by the key's id; with
    `publish` (broker list, message, outbox recheck ms), push the broker message too."""
    expire_at, cutoff = record_bounds(draft)
    queue, message, recheck_ms = publish or ("", "", 0)
    fields = encode_draft(draft)  # the script writes the owner: the charged key's id
    args: list[EncodableT] = [
        draft.charged, *belief, jobs.owner_index(""), expire_at, index_member(draft),
        f"({cutoff}", ms(draft.created_at), draft.id, layout.ledger_prefix,
        layout.ledger_ttl_seconds, message, recheck_ms,
        *(item for pair in fields.items() for item in pair),
    ]  # fmt: skip
    keys = [
        layout.record(digest), jobs.job(draft.id), jobs.outbox, jobs.queue, jobs.queue_seq,
        jobs.deadlines, *([queue] if publish else []),
    ]  # fmt: skip
    return Op("job_admit.lua", keys, args, Verdict.parse, unavailable("charge"))


def _balance(reply: Any) -> int | None:
    return None if reply is None else int(reply)


def refund(
    layout: QuotaLayout, key_id: str, amount: int, now: datetime, job_id: str | None = None
) -> Op[int | None]:
    """The key's balance after the refund (made once per job); None when the key id is unknown
    or revoked."""
    keys = [layout.index(key_id), layout.refund_mark(job_id)]
    args = [layout.record_prefix, amount, ms(now), layout.ledger_prefix + key_id]
    args += [layout.ledger_ttl_seconds, job_id or ""]
    return Op("quota_refund.lua", keys, args, _balance, unavailable("refund"))


def revoke(layout: QuotaLayout, key_id: str) -> Op[int]:
    return Op(
        "quota_revoke.lua", [layout.index(key_id)], [layout.record_prefix], int,
        unavailable("revoke"),
    )  # fmt: skip
