"""How every Redis operation of the service is run: one sans-I/O description, two runners.

An operation is an `Op`: the name of a Lua script in `adapters/lua/`, its KEYS and ARGV, and a
function that decodes the reply into domain values. The modules that build operations
(`redis_ops_jobs`, `redis_ops_quota`) do no I/O and know no client, so the API's async adapters
and the worker's sync adapters share every body and differ only in which runner they call —
as `unkey_protocol` does for Unkey over HTTP.

Scripts are loaded one way: `load_script` reads the file and splices in the chunks it names on
`--#include <file>` lines (shared Lua functions, e.g. the charge that both `quota_charge.lua`
and `job_admit.lua` run), and a runner sends it with EVALSHA, loading it again on NOSCRIPT
(redis-py's `Script`). Each operation is one round trip.

An operation names what a Redis error means for the domain (`fails_as`), e.g.
QuotaUnavailable for the quota store. Without one, the async runner (the API's) turns a lost
connection or a timeout into StoreUnavailable, as `store_errors` does around the API adapters'
plain commands, so no `redis` exception reaches the HTTP edge; the sync runner (the worker's)
lets it propagate to the task, which decides.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from importlib import resources
from typing import Any, Generic, TypeVar

import redis
import redis.asyncio as aioredis
from redis.commands.core import AsyncScript, Script

from domain.errors import StoreUnavailable

T = TypeVar("T")
_INCLUDE = re.compile(r"^--#include (\S+\.lua)$", re.MULTILINE)


@functools.cache
def load_script(name: str) -> str:
    """The Lua source of `adapters/lua/<name>`, with its `--#include` chunks spliced in."""
    source = resources.files("adapters.lua").joinpath(name).read_text(encoding="utf-8")
    return _INCLUDE.sub(lambda match: load_script(match.group(1)), source)


@dataclass(frozen=True, slots=True)
class Op(Generic[T]):
    script: str  # a file in adapters/lua/
    keys: Sequence[str]
    args: Sequence[Any]  # str, int, float or bytes, as redis-py encodes them
    decode: Callable[[Any], T]
    fails_as: Callable[[redis.RedisError], Exception] | None = None


def text(value: Any) -> str:
    return value.decode() if isinstance(value, bytes) else str(value)


# What a store outage looks like from redis-py: the server is gone or did not answer in time.
STORE_DOWN = (redis.ConnectionError, redis.TimeoutError)


def _failed(op: Op[Any], exc: redis.RedisError) -> Exception:
    return exc if op.fails_as is None else op.fails_as(exc)


def _failed_async(op: Op[Any], exc: redis.RedisError) -> Exception:
    if op.fails_as is None and isinstance(exc, STORE_DOWN):
        return StoreUnavailable()
    return _failed(op, exc)


@contextmanager
def store_errors() -> Iterator[None]:
    """Around an async adapter's plain commands (pipelines, reads): an outage is the domain's
    StoreUnavailable."""
    try:
        yield
    except STORE_DOWN as exc:
        raise StoreUnavailable() from exc


class SyncRunner:
    """Runs operations on a synchronous client (the worker, the sweeper)."""

    def __init__(self, client: redis.Redis) -> None:
        self.client = client
        self._scripts: dict[str, Script] = {}

    def run(self, op: Op[T]) -> T:
        script = self._scripts.get(op.script)
        if script is None:
            script = self._scripts[op.script] = self.client.register_script(load_script(op.script))
        try:
            reply = script(keys=op.keys, args=op.args)
        except redis.RedisError as exc:
            raise _failed(op, exc) from exc
        return op.decode(reply)


class AsyncRunner:
    """Runs operations on an asyncio client (the API)."""

    def __init__(self, client: aioredis.Redis) -> None:
        self.client = client
        self._scripts: dict[str, AsyncScript] = {}

    async def run(self, op: Op[T]) -> T:
        script = self._scripts.get(op.script)
        if script is None:
            script = self._scripts[op.script] = self.client.register_script(load_script(op.script))
        try:
            reply = await script(keys=op.keys, args=op.args)
        except redis.RedisError as exc:
            raise _failed_async(op, exc) from exc
        return op.decode(reply)
