"""`Idempotency-Key` on submit, with Stripe's semantics, scoped to the API key, kept 24 h.

The same key and body replay the first response without charging again; the same key with
another body is refused (422); a duplicate that arrives while the first request still runs
waits for it and replays its answer. A request that fails leaves no record, so the client may
retry it with the same key.
"""

from __future__ import annotations

import asyncio
import hashlib
from collections.abc import Awaitable, Callable
from typing import Any, Protocol

import msgspec
from litestar import Response

from adapters.redis_idempotency import Attempt, Begun, StoredResponse
from domain.errors import IdempotencyInProgress, IdempotencyKeyReused, InvalidRequest

HEADER = "idempotency-key"
MAX_KEY_LENGTH = 255
WAIT_FOR_FIRST_SECONDS = 10.0
_REPLAYED_HEADERS = ("location", "retry-after", "ratelimit", "ratelimit-policy")


class IdempotencyStore(Protocol):
    """Where first answers are kept (adapters/redis_idempotency.py)."""

    async def begin(self, scope: str, key: str, fingerprint: str) -> Attempt: ...

    async def complete(
        self, scope: str, key: str, fingerprint: str, response: StoredResponse
    ) -> None: ...

    async def abandon(self, scope: str, key: str) -> None: ...


def _scope(api_key: str) -> str:
    return hashlib.sha256(api_key.encode()).hexdigest()[:32]


def fingerprint(path: str, body: msgspec.Struct) -> str:
    return hashlib.sha256(path.encode() + b"\0" + msgspec.json.encode(body)).hexdigest()


def _replay(stored: StoredResponse) -> Response[Any]:
    return Response(
        stored.body,
        status_code=stored.status,
        media_type="application/json",
        headers={**stored.headers, "Idempotent-Replayed": "true"},
    )


async def _wait_for_first(store: IdempotencyStore, scope: str, key: str, fp: str) -> Attempt:
    loop = asyncio.get_running_loop()
    deadline = loop.time() + WAIT_FOR_FIRST_SECONDS
    attempt = Attempt(Begun.PENDING)
    while attempt.state is Begun.PENDING and loop.time() < deadline:
        await asyncio.sleep(0.05)
        attempt = await store.begin(scope, key, fp)
    return attempt


async def idempotent(
    store: IdempotencyStore,
    *,
    api_key: str,
    authenticate: Callable[[str], Awaitable[object]],
    idempotency_key: str | None,
    fp: str,
    run: Callable[[], Awaitable[Response[Any]]],
) -> Response[Any]:
    if idempotency_key is None:
        return await run()
    if not 1 <= len(idempotency_key) <= MAX_KEY_LENGTH:
        raise InvalidRequest(
            f"Idempotency-Key must be 1 to {MAX_KEY_LENGTH} characters.", field="Idempotency-Key"
        )
    # A stored answer is the key's data: a revoked or unknown key gets none of it, and leaves
    # no pending record behind (authenticated before `begin`).
    await authenticate(api_key)
    scope = _scope(api_key)
    attempt = await store.begin(scope, idempotency_key, fp)
    if attempt.state is Begun.PENDING:
        attempt = await _wait_for_first(store, scope, idempotency_key, fp)
    if attempt.state is Begun.MISMATCH:
        raise IdempotencyKeyReused(field="Idempotency-Key")
    if attempt.state is Begun.PENDING:
        raise IdempotencyInProgress()
    if attempt.state is Begun.REPLAY:
        if attempt.response is None:  # a store that says "replay" but kept nothing
            raise IdempotencyInProgress()
        return _replay(attempt.response)
    try:
        response = await run()
    except BaseException:
        await store.abandon(scope, idempotency_key)
        raise
    body = msgspec.json.encode(response.content)
    headers = {
        name: value
        for name, value in (response.headers or {}).items()
        if name.lower() in _REPLAYED_HEADERS
    }
    await store.complete(
        scope, idempotency_key, fp, StoredResponse(response.status_code or 200, body, headers)
    )
    return response
