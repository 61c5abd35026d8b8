"""What the busiest routes use — the submit, the poll, the event stream — each bound once in the
composition root as one value, so that each of those handlers takes exactly one dependency.

Why one: Litestar resolves the dependencies of a level side by side in an anyio task group per
request, and awaits a level of one directly (litestar/_kwargs/kwargs_model.py). On a poll the
task group cost more than the poll's own work (`python -m bench.profile poll`), so these
handlers authenticate the caller themselves, through `CallerCheck.hold`, instead of taking
`caller` as a second dependency. Every other route takes its use cases and `caller` by name
(entrypoints/http/deps.py).
"""

from __future__ import annotations

import re
from collections.abc import AsyncIterator
from contextlib import AsyncExitStack, asynccontextmanager
from dataclasses import dataclass

from litestar.enums import ScopeType
from litestar.middleware import ASGIMiddleware
from litestar.types import ASGIApp, Receive, Scope, Send

from domain.api_jobs import GetJob, SubmitGeneration
from domain.api_keys import Authenticate, Caller
from domain.job_changes import JobChanges
from domain.job_progress import JobProgress
from domain.job_waiting import MAX_WAIT_SECONDS, AwaitJob
from domain.key_limits import KeyConcurrencyLimiter
from entrypoints.http.auth import AnyRequest, require_credential
from entrypoints.http.idempotency import IdempotencyStore

_SLOT = "key_slot"
_PREFER_WAIT = re.compile(r"(?:^|[,;\s])wait\s*=\s*([0-9]+(?:\.[0-9]+)?)", re.IGNORECASE | re.ASCII)


def requested_wait(prefer: str) -> str | None:
    """The seconds of a `Prefer: wait=N` header, as sent (ASCII digits only), or None."""
    match = _PREFER_WAIT.search(prefer)
    return match[1] if match else None


def prefer_wait(request: AnyRequest) -> float | None:
    """The `Prefer: wait=N` of the request, N capped at 60; None without one."""
    wait = requested_wait(request.headers.get("prefer", ""))
    return None if wait is None else min(float(wait), MAX_WAIT_SECONDS)


def _waits(request: AnyRequest) -> bool:
    return request.url.path.endswith("/events") or prefer_wait(request) is not None


@dataclass(frozen=True, slots=True)
class CallerCheck:
    """Who is calling, and their key's share of this process's request slots."""

    authenticate: Authenticate
    key_limiter: KeyConcurrencyLimiter  # per-key cap of concurrent non-waiting requests
    waiter_limiter: KeyConcurrencyLimiter  # … and of waiting ones (SSE, `Prefer: wait`)

    async def take(self, request: AnyRequest) -> Caller:
        """Authenticate without spending: a zero-cost verify resolves the key to its id. The
        request then holds one of its key's concurrent-request slots (429 past the cap) until
        it ends (`ReleaseKeySlots`) or starts waiting (`release_key_slot`). A request that is
        going to wait (an event stream, `Prefer: wait`) takes its slot from the waiters' high
        cap, so a burst of a key's waiters is never refused by the low cap meant for ordinary
        requests."""
        caller = await self.authenticate(require_credential(request).key)
        limiter = self.waiter_limiter if _waits(request) else self.key_limiter
        slot = AsyncExitStack()
        await slot.enter_async_context(limiter.slot(caller.key_id))
        request.state[_SLOT] = slot
        return caller

    @asynccontextmanager
    async def hold(self, request: AnyRequest) -> AsyncIterator[Caller]:
        """`take`, given back when the block ends."""
        caller = await self.take(request)
        try:
            yield caller
        finally:
            await release_key_slot(request)


async def release_key_slot(request: AnyRequest) -> None:
    """The request is about to wait (long-poll, SSE): waiters hold no Redis connection and
    have their own, higher cap, so give the concurrent-request slot back now."""
    await _release(request.scope)


async def _release(scope: Scope) -> None:
    slot: AsyncExitStack | None = scope.get("state", {}).pop(_SLOT, None)
    if slot is not None:
        await slot.aclose()


class ReleaseKeySlots(ASGIMiddleware):
    """However a request ends, its key slot is given back. Not left to the `caller`
    dependency's own cleanup: when a dependency resolved after it fails (a 422 from a query
    parameter's parser), Litestar never closes the ones it had resolved, and the key would lose
    that slot for good — 32 such answers and it is refused everything."""

    scopes = (ScopeType.HTTP,)

    async def handle(self, scope: Scope, receive: Receive, send: Send, next_app: ASGIApp) -> None:
        try:
            await next_app(scope, receive, send)
        finally:
            await _release(scope)


@dataclass(frozen=True, slots=True)
class Submissions:
    """`POST /v1/images/generations`."""

    submit: SubmitGeneration
    await_job: AwaitJob  # `Prefer: wait`
    job_progress: JobProgress
    idempotency: IdempotencyStore
    authenticate: Authenticate  # a replay is answered only to a key that still verifies


@dataclass(frozen=True, slots=True)
class JobReads:
    """`GET /v1/jobs/{id}`, with or without `Prefer: wait`."""

    callers: CallerCheck
    get_job: GetJob
    await_job: AwaitJob
    job_progress: JobProgress


@dataclass(frozen=True, slots=True)
class JobStreams:
    """`GET /v1/jobs/{id}/events`."""

    callers: CallerCheck
    get_job: GetJob
    job_progress: JobProgress
    changes: JobChanges  # the process's change hub: every stream's wake-ups
