"""`Client`: the blocking client."""

from __future__ import annotations

import json
import math
import time
from collections.abc import Callable, Iterator
from typing import Any

import httpx

from imagegate_client import _protocol as p
from imagegate_client.errors import Conflict
from imagegate_client.models import Image, Job, JobPage, Me, Quote, Usage
from imagegate_client.sse import EventParser

OnUpdate = Callable[[Job], None]


class Client:
    """`Client(base_url=, api_key=)`, defaulting to IMAGEGATE_BASE_URL and IMAGEGATE_API_KEY."""

    def __init__(
        self,
        base_url: str | None = None,
        api_key: str | None = None,
        *,
        timeout: float = 30.0,
        retry: p.RetryPolicy | None = None,
        transport: httpx.BaseTransport | None = None,
    ) -> None:
        self.base_url, self.api_key = p.resolve(base_url, api_key)
        self._retry = retry or p.RetryPolicy()
        self._http = httpx.Client(
            base_url=self.base_url, headers=p.headers(self.api_key), timeout=timeout,
            transport=transport,
        )  # fmt: skip
        self._has_event_stream: bool | None = None  # unknown until the first wait
        self.images = Images(self)
        self.jobs = Jobs(self)

    def __enter__(self) -> Client:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        self._http.close()

    def me(self) -> Me:
        """The key: id, first characters, credits and the next refill. Spends nothing."""
        return Me.from_json(self._call("GET", "/v1/me"))

    def usage(self, **params: Any) -> Usage:
        """The credit ledger (`cursor=`, `limit=`, or `bucket="day"`, `from_=`, `to=`)."""
        query = {name.rstrip("_"): value for name, value in params.items() if value is not None}
        return Usage.from_json(self._call("GET", "/v1/me/usage", params=query))

    def quote(self, prompt: str, *, n: int = 1, **options: str | None) -> Quote:
        """What a submit would cost, and whether the balance covers it. Spends nothing."""
        body = p.generation_body(prompt, n=n, **p.options(options))
        return Quote.from_json(self._call("POST", "/v1/quotes", json=body))

    def _send(self, method: str, path: str, **kw: Any) -> httpx.Response:
        attempt = 0
        while True:
            response: httpx.Response | None
            try:
                response = self._http.request(method, path, **kw)
            except httpx.TransportError as exc:
                if not self._retry.should_retry(attempt, None):
                    raise p.unreachable(exc) from exc
                response = None
            else:
                if not self._retry.should_retry(attempt, response):
                    return response
            time.sleep(self._retry.delay(attempt, response))
            attempt += 1

    def _call(self, method: str, path: str, **kw: Any) -> Any:
        return p.decode(self._send(method, path, **kw))

    def _fetch(self, url: str) -> bytes:
        response = self._send("GET", url, headers={"Accept": "*/*"})
        if not response.is_success:
            p.decode(response)
        return response.content

    def _job(self, data: dict[str, Any]) -> Job:
        return Job.from_json(data, lambda image: Image(**p.image_fields(image), _fetch=self._fetch))


class Images:
    def __init__(self, client: Client) -> None:
        self._client = client

    def generate(
        self,
        prompt: str,
        *,
        n: int = 1,
        size: str | None = None,
        quality: str | None = None,
        output_format: str | None = None,
        model: str | None = None,
        wait: bool = True,
        timeout: float | None = None,
        on_update: OnUpdate | None = None,
    ) -> Job:
        """Submit a job and (by default) wait for it. One Idempotency-Key per call, reused on
        retries, so a retried submit is charged once. Past `timeout` seconds the job is
        canceled and GenerationTimeout raised; a job that ends without images raises
        GenerationFailed."""
        deadline = time.monotonic() + timeout if timeout is not None else None
        body = p.generation_body(
            prompt, n=n, size=size, quality=quality, output_format=output_format, model=model
        )
        headers = {"Idempotency-Key": p.new_idempotency_key()}
        job = self._client._job(
            self._client._call("POST", "/v1/images/generations", json=body, headers=headers)
        )
        if on_update is not None:
            on_update(job)
        if not wait:
            return job
        job = self._client.jobs._wait(job.id, deadline, on_update)
        if not job.terminal:
            job = self._give_up(job)
        if job.status != "succeeded":
            raise p.failure(job)
        return job

    def _give_up(self, job: Job) -> Job:
        try:
            job = self._client.jobs.cancel(job.id)
        except Conflict:  # it finished (or started, on a server that cannot stop it) meanwhile
            job = self._client.jobs.get(job.id)
            if job.status == "succeeded":
                return job
        raise p.timed_out(job)


class Jobs:
    def __init__(self, client: Client) -> None:
        self._client = client

    def get(self, job_id: str, *, wait: float | None = None) -> Job:
        """The job; with `wait`, the server holds the answer until it ends or `wait` s pass."""
        if not wait or wait <= 0:
            return self._client._job(self._client._call("GET", f"/v1/jobs/{job_id}"))
        seconds = math.ceil(min(wait, 60))
        response = self._client._call(
            "GET", f"/v1/jobs/{job_id}", headers={"Prefer": f"wait={seconds}"},
            timeout=seconds + 15,
        )  # fmt: skip
        return self._client._job(response)

    def list(self, *, limit: int | None = None, cursor: str | None = None) -> JobPage:
        """The key's jobs, newest first; pass `next_cursor` back as `cursor`."""
        params = {name: v for name, v in {"limit": limit, "cursor": cursor}.items() if v}
        data = self._client._call("GET", "/v1/jobs", params=params)
        return JobPage([self._client._job(job) for job in data["data"]], data.get("next_cursor"))

    def cancel(self, job_id: str) -> Job:
        """Cancel the job; its credits are refunded. A finished job raises Conflict."""
        return self._client._job(self._client._call("POST", f"/v1/jobs/{job_id}/cancel"))

    def stream(self, job_id: str, *, read_timeout: float = 45.0) -> Iterator[Job]:
        """The job each time it changes (Server-Sent Events), ending after its final state."""
        try:
            yield from self._stream(job_id, read_timeout)
        except p.NoEventStream as missing:
            raise missing.args[0] from None

    def _stream(self, job_id: str, read_timeout: float) -> Iterator[Job]:
        http = self._client._http
        timeout = httpx.Timeout(10.0, read=read_timeout)
        headers = {"Accept": "text/event-stream"}
        with http.stream("GET", f"/v1/jobs/{job_id}/events", headers=headers, timeout=timeout) as r:
            if p.sse_missing(r):
                r.read()
                raise p.NoEventStream(p.missing_stream_error(r))
            if not r.is_success:
                r.read()
                p.decode(r)
            parser = EventParser()
            for chunk in r.iter_bytes():
                for event in parser.feed(chunk):
                    if event.event == "job":
                        job = self._client._job(json.loads(event.data))
                        yield job
                        if job.terminal:
                            return

    def wait(
        self, job_id: str, *, timeout: float | None = None, on_update: OnUpdate | None = None
    ) -> Job:
        """Wait until the job ends or `timeout` s pass; the last state seen. Uses the event
        stream when the server has one, else long-polls (`Prefer: wait`)."""
        deadline = time.monotonic() + timeout if timeout is not None else None
        return self._wait(job_id, deadline, on_update)

    def _wait(self, job_id: str, deadline: float | None, on_update: OnUpdate | None) -> Job:
        client = self._client
        if client._has_event_stream is not False:
            try:
                for job in self._stream(job_id, read_timeout=p.stream_read_timeout(deadline)):
                    client._has_event_stream = True
                    if on_update is not None:
                        on_update(job)
                    if job.terminal:
                        return job
            except p.NoEventStream:
                client._has_event_stream = False
            except httpx.TransportError:
                pass  # a dropped or silent stream: polling below picks up from here
        while True:
            wait = p.poll_wait(deadline)
            if wait <= 0:
                return self.get(job_id)
            job = self.get(job_id, wait=wait)
            if on_update is not None:
                on_update(job)
            if job.terminal:
                return job
