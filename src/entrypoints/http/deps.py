"""Litestar dependencies: each use case by name, and the authenticated caller.

Handlers name what they use (`submit: SubmitGeneration`, `caller: Caller`, ...); the names are
the ApiContainer's fields, resolved from the container built on startup.
"""

from __future__ import annotations

import re
from collections.abc import AsyncIterator
from contextlib import AsyncExitStack, asynccontextmanager
from dataclasses import fields
from typing import Any

from litestar.datastructures import State
from litestar.di import Provide
from litestar.params import Dependency

from domain.api_keys import Caller
from domain.job_waiting import MAX_WAIT_SECONDS
from entrypoints.bootstrap import ApiContainer
from entrypoints.http.auth import AnyRequest, require_credential

# For a parameter typed by a Protocol: Litestar checks injected values with isinstance, which a
# Protocol refuses (`images: Annotated[ImageStore, AS_GIVEN]`).
AS_GIVEN = Dependency(skip_validation=True)


def _field_of_container(name: str) -> Provide:
    def provide(state: State) -> Any:
        return getattr(state.container, name)

    return Provide(provide, sync_to_thread=False)


def _value(value: object) -> Provide:
    def provide() -> Any:
        return value

    return Provide(provide, sync_to_thread=False, use_cache=True)


_SLOT = "key_slot"
QUOTA_HEADERS_STATE = "quota_headers"  # the app's QuotaHeaders, in its state


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


@asynccontextmanager
async def caller_of(request: AnyRequest, container: ApiContainer) -> AsyncIterator[Caller]:
    """Authenticate without spending: a zero-cost verify resolves the key to its id. The
    request then holds one of its key's concurrent-request slots (429 past the cap) until it
    ends or starts waiting (`release_key_slot`). A request that is going to wait (an event
    stream, `Prefer: wait`) takes its slot from the waiters' high cap, so a burst of a key's
    waiters is never refused by the low cap meant for ordinary requests."""
    caller = await container.authenticate(require_credential(request).key)
    limiter = container.waiter_limiter if _waits(request) else container.key_limiter
    async with AsyncExitStack() as slot:
        await slot.enter_async_context(limiter.slot(caller.key_id))
        request.state[_SLOT] = slot
        yield caller


async def provide_caller(request: AnyRequest, state: State) -> AsyncIterator[Caller]:
    """The `caller` dependency (`caller_of`). It takes what it uses from the container rather
    than as dependencies of its own: Litestar resolves the dependencies of one level side by
    side in an anyio task group per request, which cost a poll more than its own work
    (`python -m bench.profile poll`); the poll route, the hottest, takes none at all."""
    async with caller_of(request, state.container) as caller:
        yield caller


async def release_key_slot(request: AnyRequest) -> None:
    """The request is about to wait (long-poll, SSE): waiters hold no Redis connection and
    have their own, higher cap, so give the concurrent-request slot back now."""
    slot: AsyncExitStack | None = request.state.pop(_SLOT, None)
    if slot is not None:
        await slot.aclose()


def dependencies(**values: object) -> dict[str, Provide]:
    """Every container field by its name, the caller, and `values` as they are."""
    provided = {f.name: _field_of_container(f.name) for f in fields(ApiContainer)}
    provided.update({name: _value(value) for name, value in values.items()})
    provided["caller"] = Provide(provide_caller)
    return provided
