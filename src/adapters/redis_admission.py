"""Charge and record a job in one script, when the credits (the local quota store) and the jobs
live in the same Redis/Valkey.

The general path is two steps: charge the key, then record the job (and refund if recording
fails). Here both are one EVALSHA (job_admit.lua, which runs the same charge chunk as
quota_charge.lua and, if it passes, records the job — hash, owner index, outbox — before it
returns). No window exists in which credits are taken and no job is recorded, and a submit costs
one round trip before the hand-over to the broker.

When the Celery broker is that same Redis (`publish_to`), the script also pushes the task message
onto the broker's queue list (`celery_wire`) and schedules the outbox's recheck: a submit is one
round trip in all, with no relay, no thread and no group commit to wait for, and "202 means the
broker has it" holds by construction (`AdmittedIsQueued` is then the API's JobQueue).
"""

from __future__ import annotations

from datetime import timedelta

import redis.asyncio as aioredis

from adapters import redis_ops_quota as ops
from adapters.celery_wire import task_message
from adapters.quota_keys import key_digest
from adapters.redis_jobs_codec import JobKeys, ms
from adapters.redis_ops import AsyncRunner
from adapters.redis_ops_quota import DEFAULT_LAYOUT, QuotaLayout
from adapters.redis_quota import RefillBeliefs
from domain.models import Charge, Job, JobDraft
from domain.ports import Clock


class RedisJobAdmission:
    """JobAdmission for the local quota provider: charge and record atomically."""

    def __init__(
        self,
        client: aioredis.Redis,
        clock: Clock,
        layout: QuotaLayout = DEFAULT_LAYOUT,
        *,
        publish_to: tuple[str, str] | None = None,  # (task name, queue) on this Redis
        recheck_seconds: float = 600,
    ) -> None:
        self._ops = AsyncRunner(client)
        self._publish_to = publish_to
        self._recheck = timedelta(seconds=recheck_seconds)
        self._layout = layout
        self._jobs = JobKeys(layout.prefix)
        self._beliefs = RefillBeliefs(clock)

    async def admit(self, key: str, draft: JobDraft) -> tuple[Charge, Job | None]:
        # A Redis error surfaces as QuotaUnavailable (503). The script is atomic: either the
        # key was charged and the job recorded in the outbox (then a worker runs it, sent by the
        # sweeper if not by us), or neither happened.
        digest = key_digest(key)
        publish = None
        if self._publish_to is not None:
            task, queue = self._publish_to
            recheck = ms(draft.created_at + self._recheck)
            publish = (queue, task_message(task, draft.id, queue), recheck)
        verdict = await self._beliefs.charge(
            self._ops, digest,
            lambda belief: ops.admit(self._layout, self._jobs, digest, draft, belief, publish),
        )  # fmt: skip
        charge = verdict.charge()
        if not charge.accepted or charge.key_id is None:
            return charge, None
        return charge, draft.owned_by(charge.key_id)


class AdmittedIsQueued:
    """The API's JobQueue when the admission pushes the broker message itself: by the time a
    job is admitted the broker has it, so there is nothing left to hand over."""

    def __init__(self, client: aioredis.Redis) -> None:
        self._client = client  # the broker is this Redis

    def accepting(self) -> bool:
        return True  # an unreachable Redis refuses the admission itself: 503, nothing charged

    async def enqueue(self, job_id: str) -> None:
        return None

    async def ping(self) -> None:
        await self._client.ping()
