"""Charge and record a job in one script, when the credits (the local quota store) and the jobs
live in the same Redis/Valkey.

The general path is two steps: charge the key, then record the job (and refund if recording
fails). Here both are one EVALSHA: the charge script runs as a Lua function and, if it passes,
the job is recorded — hash, owner index, outbox — before the script returns. No window exists in
which credits are taken and no job is recorded, and a submit costs one round trip before the
hand-over to the broker.

The owner index's name is built inside the script from the key's id (which only the record
knows): fine on a single Redis/Valkey, not on Redis Cluster — as the refund script already is.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import redis.asyncio as aioredis

from adapters.redis_jobs import record_bounds
from adapters.redis_jobs_codec import JobKeys, encode_job, index_member, ms
from adapters.redis_quota import CHARGE_LUA, RedisQuotaProvider
from domain.models import Charge, ImageRequest, Job

# What a queued job's record holds before anything happened to it: the same for every job, so it
# is part of the script rather than sent with each call.
_FRESH = ("started_at", "finished_at", "refunded", "refund_claimed", "images", "error", "attempts")
_SENT = ("id", "status", "request", "created_at", "expires_at", "charged", "request_id")


def _fresh_fields() -> str:
    template = encode_job(
        Job.queued(
            owner="", request=ImageRequest(prompt="-"), now=datetime.now(UTC), ttl=timedelta()
        )
    )
    assert set(template) == {"owner", *_FRESH, *_SENT}, "encode_job changed: update this script"
    return ", ".join(f"'{name}', '{template[name]}'" for name in _FRESH)


# KEYS[1] the key's record, KEYS[2] the job, KEYS[3] the outbox
# ARGV[1..4] as quota_charge.lua; ARGV[5] owner-index prefix, ARGV[6] expire at (epoch s),
# ARGV[7] index member, ARGV[8] index cutoff, ARGV[9] outbox score (ms), ARGV[10] job id,
# ARGV[11..] the job's fields in _SENT, as name-value pairs.
ADMIT_LUA = (
    "local function charge()\n"
    + CHARGE_LUA
    + f"""
end
local verdict = charge()
if verdict[1] ~= 'VALID' then return verdict end
local index = ARGV[5] .. verdict[2]
redis.call('HSET', KEYS[2], 'owner', verdict[2], {_fresh_fields()}, unpack(ARGV, 11))
redis.call('EXPIREAT', KEYS[2], ARGV[6])
redis.call('ZADD', index, 0, ARGV[7])
redis.call('ZREMRANGEBYLEX', index, '-', ARGV[8])
redis.call('EXPIREAT', index, ARGV[6])
redis.call('ZADD', KEYS[3], ARGV[9], ARGV[10])
return verdict
"""
)


class RedisJobAdmission:
    """JobAdmission for the local quota provider: charge and record atomically."""

    def __init__(
        self, client: aioredis.Redis, quota: RedisQuotaProvider, *, prefix: str = "ig"
    ) -> None:
        self._quota = quota
        self._keys = JobKeys(prefix)
        self._script = client.register_script(ADMIT_LUA)

    async def admit(self, key: str, draft: Job) -> tuple[Charge, Job | None]:
        keys = self._keys
        expire_at, cutoff = record_bounds(draft)
        fields = encode_job(draft)  # the script writes the owner (the charged key's id)
        args = [
            keys.owner_index(""), expire_at, index_member(draft), f"({cutoff}",
            ms(draft.created_at), draft.id,
            *(item for name in _SENT for item in (name, fields[name])),
        ]  # fmt: skip
        # A Redis error surfaces as QuotaUnavailable (503). The script is atomic: either the
        # key was charged and the job recorded in the outbox (then a worker runs it, sent by the
        # sweeper if not by us), or neither happened.
        charge = await self._quota.charge_with(
            key, draft.charged, self._script, [keys.job(draft.id), keys.outbox], args
        )
        if not charge.accepted or charge.key_id is None:
            return charge, None
        return charge, draft.evolve(owner=charge.key_id)
