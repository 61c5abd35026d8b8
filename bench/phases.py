"""The measurements, one function each. Every one returns plain data for the report."""

from __future__ import annotations

import json
import threading
import time
from pathlib import Path
from typing import Any

import httpx

from bench.load import lua_script, run_openloop, run_wrk
from bench.stack import Stack, parse_ts, peak_rss_mb, wait_until

SUBMIT_BODY = json.dumps({"prompt": "a lighthouse at dusk"})
WRK_SECONDS = 8
WRK_CONNECTIONS = 64
TERMINAL = {b"succeeded", b"failed", b"canceled"}


def mint(stack: Stack) -> str:
    response = httpx.post(stack.url + "/v1/keys", timeout=10)
    response.raise_for_status()
    return str(response.json()["key"])


def remaining(stack: Stack, key: str) -> int:
    me = httpx.get(stack.url + "/v1/me", headers={"authorization": f"Bearer {key}"}, timeout=10)
    return int(me.json()["credits"]["remaining"])


def submit_one(stack: Stack, key: str) -> str:
    response = httpx.post(
        stack.url + "/v1/images/generations",
        content=SUBMIT_BODY,
        headers={"authorization": f"Bearer {key}", "content-type": "application/json"},
        timeout=10,
    )
    response.raise_for_status()
    return str(response.json()["id"])


def bare(stack: Stack) -> dict[str, Any]:
    result = run_wrk(stack.url + "/healthz", seconds=WRK_SECONDS, connections=WRK_CONNECTIONS)
    return {"rate": result.rate, "non_2xx": result.non_2xx, "command": result.command}


def poll(stack: Stack, key: str, workdir: Path) -> dict[str, Any]:
    job_id = submit_one(stack, key)
    script = lua_script(workdir, "poll", headers={"Authorization": f"Bearer {key}"})
    result = run_wrk(
        f"{stack.url}/v1/jobs/{job_id}",
        seconds=WRK_SECONDS,
        connections=WRK_CONNECTIONS,
        script=script,
    )
    return {
        "rate": result.rate,
        "non_2xx": result.non_2xx,
        "command": result.command.replace(job_id, "$JOB_ID"),
        "script": script.read_text().replace(key, "$KEY"),
    }


def submit_max(stack: Stack, key: str, workdir: Path) -> dict[str, Any]:
    """The highest rate of accepted submits, counted as sustained only once every accepted job
    is in the broker (a relay that falls behind does not count as throughput)."""
    before = remaining(stack, key)
    depth_before = stack.broker_depth()
    script = lua_script(
        workdir,
        "submit",
        method="POST",
        headers={"Authorization": f"Bearer {key}", "Content-Type": "application/json"},
        body=SUBMIT_BODY,
    )
    started = time.monotonic()
    result = run_wrk(
        stack.url + "/v1/images/generations",
        seconds=WRK_SECONDS * 5 // 4,
        connections=WRK_CONNECTIONS,
        script=script,
    )
    load_end = time.monotonic()
    accepted = before - remaining(stack, key)
    wait_until(
        lambda: stack.broker_depth() - depth_before >= accepted,
        timeout=60,
        what="every accepted job to reach the broker",
        every=0.01,
    )
    drained = time.monotonic()
    in_broker = stack.broker_depth() - depth_before
    return {
        "rate": accepted / (drained - started),
        "wrk_rate": result.rate,
        "accepted": accepted,
        "in_broker": in_broker,
        "drain_seconds": round(drained - load_end, 3),
        "non_2xx": result.non_2xx,
        "socket_errors": result.socket_errors,
        "command": result.command,
        "script": script.read_text().replace(key, "$KEY"),
    }


def submit_latency(stack: Stack, key: str, rate: float) -> dict[str, Any]:
    time.sleep(3)  # let the burst of the max-rate phase settle (sockets, allocator, GC)
    result, command = run_openloop(
        stack.url + "/v1/images/generations",
        rate=rate,
        seconds=8,
        warmup=2,
        method="POST",
        headers={"authorization": f"Bearer {key}"},
        body=SUBMIT_BODY,
    )
    result.pop("jobs")
    return {**result, "command": command}


def _wait_terminal(stack: Stack, job_ids: list[str], timeout: float) -> None:
    def done() -> bool:
        return all(row[0] in TERMINAL for row in stack.job_fields(job_ids, "status"))

    wait_until(done, timeout=timeout, what=f"{len(job_ids)} jobs to finish", every=0.25)


def _prefill(stack: Stack, key: str, count: int) -> list[str]:
    result, _ = run_openloop(
        stack.url + "/v1/images/generations",
        rate=500,
        seconds=count / 500,
        method="POST",
        headers={"authorization": f"Bearer {key}"},
        body=SUBMIT_BODY,
        ids=True,
    )
    return [job_id for job_id, _ in result["jobs"]]


def worker_throughput(stack: Stack, key: str, *, jobs: int, delay_ms: int) -> dict[str, Any]:
    """One worker at its default concurrency on a full queue: jobs/s between the first claim
    and the last finish, from the job records. Samples how many run at once."""
    stack.forget_queued_work()
    job_ids = _prefill(stack, key, jobs)
    name = f"worker-{delay_ms}ms"
    worker_pid = stack.start_worker(name, {"PLACEHOLDER_DELAY_MS": str(delay_ms)})
    most_running = 0
    stop = threading.Event()

    def sample() -> None:
        nonlocal most_running
        while not stop.wait(0.1):
            most_running = max(most_running, stack.running())

    sampler = threading.Thread(target=sample, daemon=True)
    sampler.start()
    try:
        _wait_terminal(stack, job_ids, timeout=120)
    finally:
        stop.set()
        sampler.join()
    rows = stack.job_fields(job_ids, "status", "started_at", "finished_at")
    starts = [parse_ts(row[1]) for row in rows if row[1]]
    ends = [parse_ts(row[2]) for row in rows if row[2]]
    span = max(ends) - min(starts)
    succeeded = sum(1 for row in rows if row[0] == b"succeeded")
    worker_rss = peak_rss_mb(worker_pid)
    stack.stop_process(name)
    return {
        "jobs": len(job_ids),
        "succeeded": succeeded,
        "seconds": round(span, 2),
        "rate": succeeded / span,
        "most_running": most_running,
        "worker_rss_mb": worker_rss,
        "api_rss_mb": peak_rss_mb(stack.pid("api")),
    }


def overhead(stack: Stack, key: str, *, rate: float, delay_ms: int) -> dict[str, Any]:
    """(finished - submitted) - the generator's delay, per job, at `rate` jobs/s offered."""
    stack.forget_queued_work()
    name = f"worker-overhead-{delay_ms}ms"
    stack.start_worker(name, {"PLACEHOLDER_DELAY_MS": str(delay_ms)})
    result, command = run_openloop(
        stack.url + "/v1/images/generations",
        rate=rate,
        seconds=10,
        method="POST",
        headers={"authorization": f"Bearer {key}"},
        body=SUBMIT_BODY,
        ids=True,
    )
    sent = dict(result["jobs"])
    job_ids = list(sent)
    _wait_terminal(stack, job_ids, timeout=60)
    rows = stack.job_fields(job_ids, "created_at", "started_at", "finished_at")
    stack.stop_process(name)
    totals, queued, after = [], [], []
    for job_id, (created, started, finished) in zip(job_ids, rows, strict=True):
        if not finished:
            continue
        totals.append((parse_ts(finished) - sent[job_id]) * 1000 - delay_ms)
        queued.append((parse_ts(started) - parse_ts(created)) * 1000)
        after.append((parse_ts(finished) - parse_ts(started)) * 1000 - delay_ms)

    def pct(values: list[float], fraction: float) -> float:
        ordered = sorted(values)
        return round(ordered[min(len(ordered) - 1, int(fraction * len(ordered)))], 1)

    return {
        "jobs": len(totals),
        "offered_rate": rate,
        "delay_ms": delay_ms,
        "p50_ms": pct(totals, 0.5),
        "p99_ms": pct(totals, 0.99),
        "queue_p50_ms": pct(queued, 0.5),
        "queue_p99_ms": pct(queued, 0.99),
        "run_p50_ms": pct(after, 0.5),
        "run_p99_ms": pct(after, 0.99),
        "submit_statuses": result["statuses"],
        "command": command,
    }
