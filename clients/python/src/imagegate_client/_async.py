"""`AsyncClient`: the asyncio client; the same calls as `Client`, awaited."""

from __future__ import annotations

import asyncio
import json
import math
import time
from collections.abc import AsyncIterator, Callable
from typing import Any

import httpx

from imagegate_client import _protocol as p
from imagegate_client.errors import Conflict
from imagegate_client.models import AsyncImage, Job, JobPage, Me, Quote, Usage
from imagegate_client.sse import EventParser

OnUpdate = Callable[[Job], None]


class AsyncClient:
    """`AsyncClient(base_url=, api_key=)`, defaulting to IMAGEGATE_BASE_URL / IMAGEGATE_API_KEY."""

    def __init__(
        self,
        base_url: str | None = None,
        api_key: str | None = None,
        *,
        timeout: float = 30.0,
        retry: p.RetryPolicy | None = None,
        transport: httpx.AsyncBaseTransport | None = None,
    ) -> None:
        self.base_url, self.api_key = p.resolve(base_url, api_key)
        self._retry = retry or p.RetryPolicy()
        self._http = httpx.AsyncClient(
            base_url=self.base_url, headers=p.headers(self.api_key), timeout=timeout,
            transport=transport,
        )  # fmt: skip
        self._has_event_stream: bool | None = None
        self.images = AsyncImages(self)
        self.jobs = AsyncJobs(self)

    async def __aenter__(self) -> AsyncClient:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.aclose()

    async def aclose(self) -> None:
        await self._http.aclose()

    async def me(self) -> Me:
        return Me.from_json(await self._call("GET", "/v1/me"))

    async def usage(self, **params: Any) -> Usage:
        query = {name.rstrip("_"): value for name, value in params.items() if value is not None}
        return Usage.from_json(await self._call("GET", "/v1/me/usage", params=query))

    async def quote(self, prompt: str, *, n: int = 1, **options: str | None) -> Quote:
        body = p.generation_body(prompt, n=n, **p.options(options))
        return Quote.from_json(await self._call("POST", "/v1/quotes", json=body))

    async def _send(self, method: str, path: str, **kw: Any) -> httpx.Response:
        attempt = 0
        while True:
            response: httpx.Response | None
            try:
                response = await self._http.request(method, path, **kw)
            except httpx.TransportError as exc:
                if not self._retry.should_retry(attempt, None):
                    raise p.unreachable(exc) from exc
                response = None
            else:
                if not self._retry.should_retry(attempt, response):
                    return response
            await asyncio.sleep(self._retry.delay(attempt, response))
            attempt += 1

    async def _call(self, method: str, path: str, **kw: Any) -> Any:
        return p.decode(await self._send(method, path, **kw))

    async def _fetch(self, url: str) -> bytes:
        response = await self._send("GET", url, headers={"Accept": "*/*"})
        if not response.is_success:
            p.decode(response)
        return response.content

    def _job(self, data: dict[str, Any]) -> Job:
        return Job.from_json(
            data, lambda image: AsyncImage(**p.image_fields(image), _fetch=self._fetch)
        )


class AsyncImages:
    def __init__(self, client: AsyncClient) -> None:
        self._client = client

    async def generate(
        self,
        prompt: str,
        *,
        n: int = 1,
        size: str | None = None,
        quality: str | None = None,
        output_format: str | None = None,
        model: str | None = None,
        wait: bool = True,
        timeout: float | None = None,  # noqa: ASYNC109 - the job's deadline, sent on to cancel
        on_update: OnUpdate | None = None,
    ) -> Job:
        """As `Client.images.generate`."""
        deadline = time.monotonic() + timeout if timeout is not None else None
        body = p.generation_body(
            prompt, n=n, size=size, quality=quality, output_format=output_format, model=model
        )
        headers = {"Idempotency-Key": p.new_idempotency_key()}
        data = await self._client._call(
            "POST", "/v1/images/generations", json=body, headers=headers
        )
        job = self._client._job(data)
        if on_update is not None:
            on_update(job)
        if not wait:
            return job
        job = await self._client.jobs._wait(job.id, deadline, on_update)
        if not job.terminal:
            job = await self._give_up(job)
        if job.status != "succeeded":
            raise p.failure(job)
        return job

    async def _give_up(self, job: Job) -> Job:
        try:
            job = await self._client.jobs.cancel(job.id)
        except Conflict:
            job = await self._client.jobs.get(job.id)
            if job.status == "succeeded":
                return job
        raise p.timed_out(job)


class AsyncJobs:
    def __init__(self, client: AsyncClient) -> None:
        self._client = client

    async def get(self, job_id: str, *, wait: float | None = None) -> Job:
        if not wait or wait <= 0:
            return self._client._job(await self._client._call("GET", f"/v1/jobs/{job_id}"))
        seconds = math.ceil(min(wait, 60))
        data = await self._client._call(
            "GET", f"/v1/jobs/{job_id}", headers={"Prefer": f"wait={seconds}"},
            timeout=seconds + 15,
        )  # fmt: skip
        return self._client._job(data)

    async def list(self, *, limit: int | None = None, cursor: str | None = None) -> JobPage:
        params = {name: v for name, v in {"limit": limit, "cursor": cursor}.items() if v}
        data = await self._client._call("GET", "/v1/jobs", params=params)
        return JobPage([self._client._job(job) for job in data["data"]], data.get("next_cursor"))

    async def cancel(self, job_id: str) -> Job:
        return self._client._job(await self._client._call("POST", f"/v1/jobs/{job_id}/cancel"))

    async def stream(self, job_id: str, *, read_timeout: float = 45.0) -> AsyncIterator[Job]:
        try:
            async for job in self._stream(job_id, read_timeout):
                yield job
        except p.NoEventStream as missing:
            raise missing.args[0] from None

    async def _stream(self, job_id: str, read_timeout: float) -> AsyncIterator[Job]:
        http = self._client._http
        timeout = httpx.Timeout(10.0, read=read_timeout)
        headers = {"Accept": "text/event-stream"}
        path = f"/v1/jobs/{job_id}/events"
        async with http.stream("GET", path, headers=headers, timeout=timeout) as r:
            if p.sse_missing(r):
                await r.aread()
                raise p.NoEventStream(p.missing_stream_error(r))
            if not r.is_success:
                await r.aread()
                p.decode(r)
            parser = EventParser()
            async for chunk in r.aiter_bytes():
                for event in parser.feed(chunk):
                    if event.event == "job":
                        job = self._client._job(json.loads(event.data))
                        yield job
                        if job.terminal:
                            return

    async def wait(
        self,
        job_id: str,
        *,
        timeout: float | None = None,  # noqa: ASYNC109 - as Client.jobs.wait
        on_update: OnUpdate | None = None,
    ) -> Job:
        deadline = time.monotonic() + timeout if timeout is not None else None
        return await self._wait(job_id, deadline, on_update)

    async def _wait(self, job_id: str, deadline: float | None, on_update: OnUpdate | None) -> Job:
        client = self._client
        if client._has_event_stream is not False:
            try:
                read_timeout = p.stream_read_timeout(deadline)
                async for job in self._stream(job_id, read_timeout):
                    client._has_event_stream = True
                    if on_update is not None:
                        on_update(job)
                    if job.terminal:
                        return job
            except p.NoEventStream:
                client._has_event_stream = False
            except httpx.TransportError:
                pass
        while True:
            wait = p.poll_wait(deadline)
            if wait <= 0:
                return await self.get(job_id)
            job = await self.get(job_id, wait=wait)
            if on_update is not None:
                on_update(job)
            if job.terminal:
                return job
