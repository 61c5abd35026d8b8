"""The two runners of `unkey_protocol.Call`s over one keep-alive httpx client each: async for
the API (every call within `timeout` seconds) and sync for the worker.

A charged verify is never retried: it is not idempotent. Only a connect failure, where the
request was certainly not sent, is retried once (`attempts`).
"""

from __future__ import annotations

import contextlib
import logging
from collections.abc import Iterator
from typing import Any, TypeVar

import anyio
import httpx

from adapters import unkey_protocol as unkey

log = logging.getLogger("imagegate.unkey")
T = TypeVar("T")
MAX_CONNECT_SECONDS = 3.0

LIMITS = httpx.Limits(max_connections=200, max_keepalive_connections=50)


def client_options(base_url: str, root_key: str, timeout: float) -> dict[str, Any]:
    """The settings of an httpx client (sync or async) for Unkey. Explicit timeouts:
    connecting is quick or hopeless; reads get the whole budget."""
    return {
        "base_url": base_url,
        "headers": {"Authorization": f"Bearer {root_key}", "Accept": "application/json"},
        "timeout": httpx.Timeout(timeout, connect=min(timeout, MAX_CONNECT_SECONDS)),
        "limits": LIMITS,
    }


class _RetryOnConnectError(contextlib.AbstractContextManager[None]):
    def __init__(self, endpoint: unkey.Endpoint) -> None:
        self._endpoint = endpoint

    def __exit__(self, kind: type[BaseException] | None, *_: object) -> bool:
        if kind is not None and issubclass(kind, httpx.ConnectError):
            log.info("Unkey %s: connect failed, retrying once", self._endpoint.name)
            return True  # swallowed: the caller's loop sends again
        return False


def attempts(endpoint: unkey.Endpoint) -> Iterator[contextlib.AbstractContextManager[None]]:
    """Wrap each send in one of these: the first swallows a connect failure (the request was
    certainly not sent), so the loop tries once more; the second lets everything through."""
    yield _RetryOnConnectError(endpoint)
    yield contextlib.nullcontext()


class AsyncUnkey:
    def __init__(self, *, base_url: str, root_key: str, timeout: float,
                 transport: httpx.AsyncBaseTransport | None = None) -> None:  # fmt: skip
        self._timeout = timeout
        options = client_options(base_url, root_key, timeout)
        self._client = httpx.AsyncClient(**options, transport=transport)

    async def run(self, call: unkey.Call[T]) -> T:
        try:
            with anyio.fail_after(self._timeout):
                for attempt in attempts(call.endpoint):
                    with attempt:
                        return call.decode(await self._client.post(call.path, json=call.body))
        except (httpx.HTTPError, TimeoutError) as exc:
            raise unkey.unreachable(call.endpoint, exc) from None
        raise unkey.unreachable(call.endpoint, httpx.ConnectError("no attempt left"))  # not reached

    async def aclose(self) -> None:
        await self._client.aclose()


class SyncUnkey:
    def __init__(self, *, base_url: str, root_key: str, timeout: float,
                 transport: httpx.BaseTransport | None = None) -> None:  # fmt: skip
        options = client_options(base_url, root_key, timeout)
        self._client = httpx.Client(**options, transport=transport)

    def run(self, call: unkey.Call[T]) -> T:
        try:
            for attempt in attempts(call.endpoint):
                with attempt:
                    return call.decode(self._client.post(call.path, json=call.body))
        except httpx.HTTPError as exc:
            raise unkey.unreachable(call.endpoint, exc) from None
        raise unkey.unreachable(call.endpoint, httpx.ConnectError("no attempt left"))  # not reached

    def close(self) -> None:
        self._client.close()
