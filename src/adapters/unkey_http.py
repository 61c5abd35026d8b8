"""The two runners of `unkey_protocol.Call`s over one keep-alive httpx client each: async for
the API (every call within `timeout` seconds) and sync for the worker.

A charged verify is never retried: it is not idempotent. Only a connect failure, where the
request was certainly not sent, is retried once (`unkey_protocol.attempts`).
"""

from __future__ import annotations

from typing import TypeVar

import anyio
import httpx

from adapters import unkey_protocol as unkey

T = TypeVar("T")


class AsyncUnkey:
    def __init__(self, *, base_url: str, root_key: str, timeout: float,
                 transport: httpx.AsyncBaseTransport | None = None) -> None:  # fmt: skip
        self._timeout = timeout
        options = unkey.client_options(base_url, root_key, timeout)
        self._client = httpx.AsyncClient(**options, transport=transport)

    async def run(self, call: unkey.Call[T]) -> T:
        try:
            with anyio.fail_after(self._timeout):
                for attempt in unkey.attempts(call.endpoint):
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
        options = unkey.client_options(base_url, root_key, timeout)
        self._client = httpx.Client(**options, transport=transport)

    def run(self, call: unkey.Call[T]) -> T:
        try:
            for attempt in unkey.attempts(call.endpoint):
                with attempt:
                    return call.decode(self._client.post(call.path, json=call.body))
        except httpx.HTTPError as exc:
            raise unkey.unreachable(call.endpoint, exc) from None
        raise unkey.unreachable(call.endpoint, httpx.ConnectError("no attempt left"))  # not reached

    def close(self) -> None:
        self._client.close()
