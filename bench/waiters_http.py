"""The HTTP mode of `python -m bench.waiters --http`: waiters are real SSE streams on one
`imagegate api` process (not a test).

Each round opens N event streams (ten per job, keys of at most 4,000 waiters), waits until
every stream has its first event, then cancels every job at once (a real transition that
publishes its change) and times each stream's terminal event from the moment the cancels were
sent. The ramp doubles N until a stream takes longer than the budget; the answer is the
largest N whose every stream was within it, with p50/p99 per round. The clients run in this
process, on the same machine: their cost is in the numbers, so they understate the server.
"""

from __future__ import annotations

import asyncio
import json
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path

import httpx

from adapters.redis_jobs import RedisJobStore
from adapters.redis_pool import api_redis_client
from bench.stack import Stack

WAITERS_PER_JOB = 10
WAITERS_PER_KEY = 4_000


def _percentile(values: list[float], fraction: float) -> float:
    return values[min(len(values) - 1, round(fraction * (len(values) - 1)))]


async def _stream(
    client: httpx.AsyncClient, key: str, job_id: str, ready: list[int], done: list[float]
) -> None:
    headers = {"Authorization": f"Bearer {key}"}
    first = True
    async with client.stream("GET", f"/v1/jobs/{job_id}/events", headers=headers) as response:
        if response.status_code != 200:
            raise RuntimeError(f"stream refused: {response.status_code} {await response.aread()!r}")
        async for line in response.aiter_lines():
            if line.startswith("data:"):
                if first:
                    ready[0] += 1
                    first = False
                elif '"status":"canceled"' in line:
                    done.append(time.perf_counter())


async def one_round(stack: Stack, repo: RedisJobStore, n: int) -> dict[str, float]:
    limits = httpx.Limits(max_connections=n + 50, max_keepalive_connections=50)
    async with httpx.AsyncClient(base_url=stack.url, timeout=120, limits=limits) as client:
        keys: list[tuple[str, str]] = []
        for _ in range((n + WAITERS_PER_KEY - 1) // WAITERS_PER_KEY):
            key = (await client.post("/v1/keys")).json()["key"]
            me = (await client.get("/v1/me", headers={"Authorization": f"Bearer {key}"})).json()
            keys.append((key, me["key_id"]))
        jobs: list[tuple[str, str, str]] = []  # job id, key, key id
        body = {"prompt": "bench", "size": "256x256"}
        for j in range((n + WAITERS_PER_JOB - 1) // WAITERS_PER_JOB):
            key, key_id = keys[j * WAITERS_PER_JOB // WAITERS_PER_KEY]
            answer = await client.post(
                "/v1/images/generations", json=body, headers={"Authorization": f"Bearer {key}"}
            )
            jobs.append((answer.json()["id"], key, key_id))
        ready, done = [0], []
        tasks = [
            asyncio.create_task(_stream(client, job_key[1], job_key[0], ready, done))
            for job_key in (jobs[i // WAITERS_PER_JOB] for i in range(n))
        ]
        while ready[0] < n:
            if any(t.done() for t in tasks):
                await asyncio.gather(*tasks)  # raise what ended a stream early
            await asyncio.sleep(0.05)
        sent_at = time.perf_counter()
        now = datetime.now(UTC)
        await asyncio.gather(*(repo.cancel(job_id, key_id, now) for job_id, _, key_id in jobs))
        await asyncio.wait_for(asyncio.gather(*tasks), 60)
    latencies = sorted(at - sent_at for at in done)
    return {
        "waiters": n,
        "missed": n - len(latencies),
        "p50_ms": round(_percentile(latencies, 0.50) * 1000, 1),
        "p99_ms": round(_percentile(latencies, 0.99) * 1000, 1),
        "max_ms": round(latencies[-1] * 1000, 1),
    }


async def _ramp(stack: Stack, start: int, limit: int, budget_s: float) -> dict[str, object]:
    # The cancels of a round go out at once: a pool that queues them, as the API's does.
    client = api_redis_client(stack.valkey.connection_url + "/0", pool_timeout=30)
    repo = RedisJobStore(client)
    rounds = []
    try:
        n = start
        while n <= limit:
            result = await one_round(stack, repo, n)
            rounds.append(result)
            print(json.dumps(result), flush=True)
            if result["missed"] or result["max_ms"] > budget_s * 1000:
                break
            n *= 2
    finally:
        await client.aclose()
    within = [r for r in rounds if not r["missed"] and r["max_ms"] <= budget_s * 1000]
    return {
        "mode": "http (SSE on one API process)",
        "largest_within_budget": max((int(r["waiters"]) for r in within), default=0),
        "budget_ms": budget_s * 1000,
        "rounds": rounds,
    }


def run_http(start: int, limit: int, budget_s: float) -> dict[str, object]:
    with tempfile.TemporaryDirectory(prefix="imagegate-waiters-") as tmp:
        stack = Stack(Path(tmp))
        stack.start()
        try:
            stack.start_api({"LOG_LEVEL": "WARNING", "MAX_WAITERS_PER_KEY": "5000"})
            return asyncio.run(_ramp(stack, start, limit, budget_s))
        finally:
            stack.stop()
