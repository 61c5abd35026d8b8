"""Idempotency records in Redis: the first response to a key is kept and replayed.

A record is `pending` while its request runs (briefly, so a crashed request does not block
the key for a day) and `done` with the response afterwards (kept for the full TTL).
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from enum import StrEnum

import redis.asyncio as aioredis

# KEYS[1] record; ARGV: fingerprint, pending ttl (s)
_BEGIN = """
if redis.call('EXISTS', KEYS[1]) == 0 then
  redis.call('HSET', KEYS[1], 'fp', ARGV[1], 'state', 'pending')
  redis.call('EXPIRE', KEYS[1], ARGV[2])
  return {'new'}
end
if redis.call('HGET', KEYS[1], 'fp') ~= ARGV[1] then return {'mismatch'} end
if redis.call('HGET', KEYS[1], 'state') == 'pending' then return {'pending'} end
return {'replay', redis.call('HGET', KEYS[1], 'status'), redis.call('HGET', KEYS[1], 'body'),
        redis.call('HGET', KEYS[1], 'headers')}
"""

# KEYS[1] record; ARGV: fingerprint, status, body, headers, ttl (s)
_COMPLETE = """
if redis.call('HGET', KEYS[1], 'fp') ~= ARGV[1] then return 0 end
redis.call('HSET', KEYS[1], 'state', 'done', 'status', ARGV[2], 'body', ARGV[3],
           'headers', ARGV[4])
redis.call('EXPIRE', KEYS[1], ARGV[5])
return 1
"""


class Begun(StrEnum):
    NEW = "new"  # this request runs; complete() or abandon() it
    REPLAY = "replay"  # a finished first response exists
    MISMATCH = "mismatch"  # the key was used with another request
    PENDING = "pending"  # the first request is still running


@dataclass(frozen=True, slots=True)
class StoredResponse:
    status: int
    body: bytes
    headers: dict[str, str]


@dataclass(frozen=True, slots=True)
class Attempt:
    state: Begun
    response: StoredResponse | None = None


class RedisIdempotencyStore:
    def __init__(
        self,
        client: aioredis.Redis,
        *,
        ttl_seconds: int = 86_400,
        pending_seconds: int = 60,
        prefix: str = "ig",
    ) -> None:
        self._redis = client
        self._ttl = ttl_seconds
        self._pending = pending_seconds
        self._prefix = prefix
        self._begin = client.register_script(_BEGIN)
        self._complete = client.register_script(_COMPLETE)

    def _key(self, scope: str, key: str) -> str:
        return f"{self._prefix}:idem:{scope}:{key}"

    async def begin(self, scope: str, key: str, fingerprint: str) -> Attempt:
        reply = await self._begin(keys=[self._key(scope, key)], args=[fingerprint, self._pending])
        state = Begun(reply[0].decode() if isinstance(reply[0], bytes) else reply[0])
        if state is not Begun.REPLAY:
            return Attempt(state)
        status, body, headers = reply[1], reply[2], reply[3]
        stored = StoredResponse(int(status), bytes(body), json.loads(headers))
        return Attempt(state, stored)

    async def complete(
        self, scope: str, key: str, fingerprint: str, response: StoredResponse
    ) -> None:
        await self._complete(
            keys=[self._key(scope, key)],
            args=[fingerprint, response.status, response.body, json.dumps(response.headers),
                  self._ttl],
        )  # fmt: skip

    async def abandon(self, scope: str, key: str) -> None:
        await self._redis.delete(self._key(scope, key))
