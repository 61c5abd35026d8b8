"""The HTTP mode of `python -m bench.waiters --http`, and the `waiters` phase of `make bench`:
waiters are real SSE streams and `Prefer: wait` long-polls on one `imagegate api` process (not
a test).

Each round holds N waiters, half event streams and half long-polls, ten per job, on keys of
at most 4,000 waiters (the per-key cap is 5,000). The clients are raw asyncio sockets in a
process of their own (bench/waiter_clients.py), so their CPU is not the server's; it is
measured and reported beside it. A round:

1. opens every waiter and waits until each stream has its first event and Valkey has gone
   quiet (every long-poll has made its first read and sleeps);
2. moves every job to `running` (a real transition, as a worker's claim) and waits until each
   stream has shown it: every waiter has been woken once and sleeps again;
3. finishes every job at once (`succeeded`, the worker's own Lua step, which publishes the
   change) and times each waiter's answer, from the moment the first finish was sent, until
   its stream shows `succeeded` or its long-poll answers with it.

The ramp grows N (`RAMP`) until some waiter takes longer than the budget (1 s); the answer is
the largest N whose every waiter was within it, with p50/p99 per round and the CPU each
process spent over the finish (the clients' own, so it is seen not to dominate).
"""

from __future__ import annotations

import asyncio
import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx

from adapters import redis_ops_jobs as ops
from adapters.redis_jobs_codec import JobKeys
from adapters.redis_ops import AsyncRunner
from adapters.redis_pool import api_redis_client
from bench.procfs import cpu_seconds, peak_rss_mb, tree
from bench.stack import Stack
from domain.models import ClaimResult, StoredImage
from tests.e2e.quiet import until_quiet

WAITERS_PER_JOB = 10
WAITERS_PER_KEY = 4_000
POLL_SHARE = float(os.environ.get("BENCH_WAITERS_POLLS", "0.5"))  # the rest are streams
QUIET_COMMANDS_PER_SECOND = 30  # the hub's PINGs and the deadline check, not waiters
# Round sizes: steps of 1,000 around the goal of 5,000, so the answer is not off by a doubling.
RAMP = (1_000, 2_000, 3_000, 4_000, 5_000, 6_000, 7_000, 8_000, 10_000, 12_000, 16_000)


def _percentile(values: list[float], fraction: float) -> float:
    return values[min(len(values) - 1, round(fraction * (len(values) - 1)))]


def _plan(stack: Stack, n: int) -> list[tuple[str, str]]:
    """The jobs of a round and their keys: (job id, key) for each job, queued, no worker."""
    keys = []
    with httpx.Client(base_url=stack.url, timeout=30) as client:
        for _ in range((n + WAITERS_PER_KEY - 1) // WAITERS_PER_KEY):
            keys.append(client.post("/v1/keys").raise_for_status().json()["key"])
        jobs = []
        body = {"prompt": "bench", "size": "256x256"}
        for j in range((n + WAITERS_PER_JOB - 1) // WAITERS_PER_JOB):
            key = keys[j * WAITERS_PER_JOB // WAITERS_PER_KEY]
            answer = client.post(
                "/v1/images/generations", json=body, headers={"Authorization": f"Bearer {key}"}
            )
            jobs.append((answer.raise_for_status().json()["id"], key))
    return jobs


def _commands(stack: Stack) -> int:
    return int(stack.redis.info("stats")["total_commands_processed"])


async def _quiet(stack: Stack) -> None:
    """Until Valkey goes quiet: every waiter has made its reads and sleeps."""
    await until_quiet(lambda: _commands(stack), below=QUIET_COMMANDS_PER_SECOND // 2, every=0.5)


class _Clients:
    """The client process and its JSON lines."""

    def __init__(self, process: asyncio.subprocess.Process) -> None:
        self.process = process

    async def expect(self, event: str, patience: float) -> dict[str, Any]:
        stdout = self.process.stdout
        if stdout is None:
            raise RuntimeError("the client process has no stdout pipe")
        line = await asyncio.wait_for(stdout.readline(), patience)
        if not line:
            raise RuntimeError(f"the client process ended before {event!r}")
        message: dict[str, Any] = json.loads(line)
        if message["event"] != event:
            raise RuntimeError(f"expected {event!r} from the clients, got {message}")
        return message


async def one_round(stack: Stack, runner: AsyncRunner, n: int, workdir: Path) -> dict[str, Any]:
    jobs = _plan(stack, n)
    waiters = [
        ["poll" if (i * POLL_SHARE) % 1 + POLL_SHARE >= 1 else "sse", *jobs[i // WAITERS_PER_JOB]]
        for i in range(n)
    ]
    plan = workdir / f"waiters-{n}.json"
    plan.write_text(json.dumps({"waiters": waiters, "timeout": 90}))
    process = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "bench.waiter_clients", "127.0.0.1", str(stack.port), str(plan),
        stdout=asyncio.subprocess.PIPE, limit=1 << 24,  # "done" lists every arrival
    )  # fmt: skip
    clients = _Clients(process)
    keys = JobKeys("ig")
    try:
        await clients.expect("connected", 120)
        await _quiet(stack)
        now = datetime.now(UTC)
        claims = await asyncio.gather(
            *(
                runner.run(ops.start(keys, job_id, now, max_attempts=3, lease_seconds=600))
                for job_id, _ in jobs
            )
        )
        attempts = {}
        for (job_id, _), claim in zip(jobs, claims, strict=True):
            if claim.result is not ClaimResult.CLAIMED or claim.job is None:
                raise RuntimeError(f"could not start {job_id}: {claim.result}")
            attempts[job_id] = claim.job.attempts
        running = await clients.expect("running", 60)
        await _quiet(stack)
        roles = {"api": stack.pid("api"), "valkey": stack.valkey_pid}
        before = {role: cpu_seconds(tree(pid)) for role, pid in roles.items()}
        image = (StoredImage(0, "image/png", 1, 1),)
        spy = _start_profile(stack.pid("api"), workdir, n)
        sent_at = time.monotonic()
        finished = datetime.now(UTC)
        await asyncio.gather(
            *(
                runner.run(ops.succeed(keys, job_id, attempt, image, finished))
                for job_id, attempt in attempts.items()
            )
        )
        done = await clients.expect("done", 120)
        _stop_profile(spy)
        after = {role: cpu_seconds(tree(pid)) for role, pid in roles.items()}
        window = max(done["arrivals"], default=sent_at) - sent_at
    finally:
        if process.returncode is None:
            process.kill()
        await process.wait()
    latencies = sorted(at - sent_at for at in done["arrivals"])
    if not latencies:
        raise RuntimeError(f"no waiter learned the change: {done}")
    return {
        "waiters": n,
        "missed": n - len(latencies),
        "refused": done["refused_count"],
        "p50_ms": round(_percentile(latencies, 0.50) * 1000, 1),
        "p99_ms": round(_percentile(latencies, 0.99) * 1000, 1),
        "max_ms": round(latencies[-1] * 1000, 1),
        "cpu_s": {
            **{role: round(after[role] - before[role], 3) for role in roles},
            "clients": round(done["cpu_s"] - running["cpu_s"], 3),
        },
        "window_s": round(window, 3),
        **({"refusals": done["refused"]} if done["refused"] else {}),
    }


def _start_profile(pid: int, workdir: Path, n: int) -> subprocess.Popen[bytes] | None:
    """With BENCH_WAITERS_PROFILE=DIR: py-spy samples the API over the finish of each round
    (collapsed stacks in DIR/waiters-N.txt; summarise with bench.profile.summarise)."""
    out = os.environ.get("BENCH_WAITERS_PROFILE")
    if not out:
        return None
    spy = shutil.which("py-spy") or str(Path(sys.executable).parent / "py-spy")
    argv = [spy, "record", "--format", "raw", "--rate", "2000", "--nonblocking", "--gil",
            "-o", str(Path(out) / f"waiters-{n}.txt"), "-p", str(pid)]  # fmt: skip
    process = subprocess.Popen(argv, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    time.sleep(1.0)  # py-spy attaches before the change is made
    return process


def _stop_profile(process: subprocess.Popen[bytes] | None) -> None:
    if process is not None:
        process.send_signal(signal.SIGINT)
        process.wait(timeout=30)


def _within(result: dict[str, Any], budget_s: float) -> bool:
    return not result["missed"] and not result["refused"] and result["max_ms"] <= budget_s * 1000


async def ramp(
    stack: Stack, start: int, limit: int, budget_s: float, workdir: Path
) -> dict[str, Any]:
    # The finishes of a round go out at once: a pool that queues them, as the API's does.
    client = api_redis_client(stack.valkey.connection_url + "/0", pool_timeout=30)
    runner = AsyncRunner(client)
    rounds = []
    try:
        for n in [size for size in RAMP if start <= size <= limit]:
            result = await one_round(stack, runner, n, workdir)
            rounds.append(result)
            print(json.dumps(result), flush=True)
            if not _within(result, budget_s):
                break
    finally:
        await client.aclose()
    within = [r for r in rounds if _within(r, budget_s)]
    at_start = rounds[0] if rounds else {}
    return {
        "mode": "http: SSE streams and long-polls, half each, on one API process",
        "max_waiters": max((int(r["waiters"]) for r in within), default=0),
        "budget_ms": budget_s * 1000,
        "p50_ms": at_start.get("p50_ms"),
        "p99_ms": at_start.get("p99_ms"),
        "at_waiters": at_start.get("waiters"),
        "rounds": rounds,
    }


def measure(stack: Stack, key: str, workdir: Path) -> dict[str, Any]:
    """The `waiters` phase of `make bench` (bench/run.py), on its running API."""
    del key  # each round mints its own keys, a few thousand waiters each
    summary = asyncio.run(ramp(stack, 1_000, 8_000, 1.0, workdir))
    summary["command"] = "python -m bench.waiters --http --start 1000 --max 8000"
    summary["api_rss_mb"] = peak_rss_mb(stack.pid("api"))  # with the largest round open
    return summary


def run_http(start: int, limit: int, budget_s: float) -> dict[str, Any]:
    with tempfile.TemporaryDirectory(prefix="imagegate-waiters-") as tmp:
        stack = Stack(Path(tmp))
        stack.start()
        try:
            stack.start_api({"LOG_LEVEL": "WARNING"})
            return asyncio.run(ramp(stack, start, limit, budget_s, Path(tmp)))
        finally:
            stack.stop()
