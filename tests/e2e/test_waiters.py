"""Many waiters on one API process (issue 13's scale test, issue 11 item 2): waiting costs no
Redis command per waiter, holds no pooled connection, and starves nobody else."""

from __future__ import annotations

import asyncio
import time
from typing import Any

import httpx
import pytest

from tests.e2e.lifecycle_support import BODY, bearer, mint, submit, valkey_commands
from tests.e2e.quiet import until_quiet
from tests.e2e.stack import Stack

pytestmark = pytest.mark.anyio
LIMITS = httpx.Limits(max_connections=1500, max_keepalive_connections=0)


async def _long_poll(client: httpx.AsyncClient, key: str, job_id: str, wait: int) -> Any:
    headers = {**bearer(key), "Prefer": f"wait={wait}"}
    response = await client.get(f"/v1/jobs/{job_id}", headers=headers)
    return response.status_code, response.json().get("status")


async def _stream(
    client: httpx.AsyncClient, key: str, job_id: str, connected: asyncio.Event, count: list[int]
) -> str | None:
    last = None
    async with client.stream("GET", f"/v1/jobs/{job_id}/events", headers=bearer(key)) as r:
        assert r.status_code == 200, await r.aread()
        async for line in r.aiter_lines():
            if line.startswith("data:"):
                if last is None:
                    count[0] += 1
                    connected.set()
                last = line
    return None if last is None else last.split('"status":"', 1)[1].split('"', 1)[0]


async def _settled(stack: Stack) -> None:
    """Until Valkey goes quiet: every waiter has made its first read and sleeps."""
    await until_quiet(lambda: valkey_commands(stack), below=30)


async def test_a_thousand_waiters_cost_no_commands_and_all_learn_the_end(make_stack) -> None:  # type: ignore[no-untyped-def]
    stack: Stack = make_stack({"PLACEHOLDER_DELAY_MS": "200"})
    stack.start_api()  # no worker: the job stays queued while the waiters gather
    with stack.client() as sync:
        key, other = mint(sync), mint(sync)
        job_id = submit(sync, key)["id"]
    async with httpx.AsyncClient(base_url=stack.url, timeout=120, limits=LIMITS) as client:
        connected, streamed = asyncio.Event(), [0]
        streams = [
            asyncio.create_task(_stream(client, key, job_id, connected, streamed))
            for _ in range(500)
        ]
        polls = [asyncio.create_task(_long_poll(client, key, job_id, 60)) for _ in range(500)]
        deadline = time.monotonic() + 90
        while streamed[0] < len(streams):
            assert time.monotonic() < deadline, f"only {streamed[0]} streams connected"
            await asyncio.sleep(0.1)
        await _settled(stack)
        # Other keys are served while a thousand clients wait.
        me = await client.get("/v1/me", headers=bearer(other))
        assert me.status_code == 200
        assert (await client.get("/healthz")).status_code == 200
        # A quiet window: no command per waiter (the hub's rare PING, the deadline check).
        before = valkey_commands(stack)
        await asyncio.sleep(5)
        assert valkey_commands(stack) - before < 50
        assert not any(task.done() for task in [*streams, *polls])
        stack.start_worker()
        ended = await asyncio.wait_for(asyncio.gather(*streams), 90)
        polled = await asyncio.wait_for(asyncio.gather(*polls), 90)
    assert set(ended) == {"succeeded"}
    assert set(polled) == {(200, "succeeded")}


async def test_five_hundred_long_polls_starve_no_other_key(make_stack) -> None:  # type: ignore[no-untyped-def]
    stack: Stack = make_stack({"PLACEHOLDER_DELAY_MS": "200"})
    stack.start_api()
    with stack.client() as sync:
        key, other = mint(sync), mint(sync)
        job_id = submit(sync, key)["id"]
        mine = submit(sync, other)["id"]
    async with httpx.AsyncClient(base_url=stack.url, timeout=60, limits=LIMITS) as client:
        polls = [asyncio.create_task(_long_poll(client, key, job_id, 30)) for _ in range(500)]
        await asyncio.sleep(0)  # the burst is on its way
        started = time.monotonic()
        health = await client.get("/healthz")
        read = await client.get(f"/v1/jobs/{mine}", headers=bearer(other))
        again = await client.post("/v1/images/generations", json=BODY, headers=bearer(other))
        took = time.monotonic() - started
        assert health.status_code == 200
        assert read.status_code == 200
        assert again.status_code == 202, again.text
        assert took < 5  # generous: the point is an answer, not a 503 or a hang
        stack.start_worker()
        answers = await asyncio.wait_for(asyncio.gather(*polls), 90)
    assert set(answers) == {(200, "succeeded")}  # no 5xx, no 429: every poll saw the end
