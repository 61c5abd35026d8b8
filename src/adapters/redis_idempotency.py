"""Idempotency records in Redis: the first response to a key is kept and replayed.

A record is `pending` while its request runs (briefly, so a crashed request does not block
the key for a day) and `done` with the response afterwards (kept for the full TTL); the
scripts are idempotency_begin.lua and idempotency_complete.lua.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from enum import StrEnum
from typing import Any

import redis.asyncio as aioredis

from adapters.redis_ops import AsyncRunner, Op, store_errors, text


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
        self._ops = AsyncRunner(client)

    def _key(self, scope: str, key: str) -> str:
        return f"{self._prefix}:idem:{scope}:{key}"

    async def begin(self, scope: str, key: str, fingerprint: str) -> Attempt:
        args = [fingerprint, self._pending]
        return await self._ops.run(
            Op("idempotency_begin.lua", [self._key(scope, key)], args, _attempt)
        )

    async def complete(
        self, scope: str, key: str, fingerprint: str, response: StoredResponse
    ) -> None:
        headers = json.dumps(response.headers)
        args = [fingerprint, response.status, response.body, headers, self._ttl]
        await self._ops.run(Op("idempotency_complete.lua", [self._key(scope, key)], args, int))

    async def abandon(self, scope: str, key: str) -> None:
        with store_errors():
            await self._redis.delete(self._key(scope, key))


def _attempt(reply: list[Any]) -> Attempt:
    state = Begun(text(reply[0]))
    if state is not Begun.REPLAY:
        return Attempt(state)
    status, body, headers = reply[1], reply[2], reply[3]
    return Attempt(state, StoredResponse(int(status), bytes(body), json.loads(headers)))
