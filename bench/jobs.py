"""The job measurements: real `imagegate worker` processes running placeholder generations.

Jobs are submitted through the API (bench.openloop, which records each 202's send time) to
workers that are already running, so no worker gets a head start on a full queue; times come
from the job records (`started_at`, `finished_at`) and the CPU from /proc (bench.procfs).
"""

from __future__ import annotations

import threading
import time
from collections.abc import Mapping, Sequence
from typing import Any

from bench.load import run_openloop
from bench.phases import SUBMIT_BODY
from bench.procfs import CpuMeter, peak_rss_mb, rss_mb, tree
from bench.stack import Stack, parse_ts, wait_until

TERMINAL = {b"succeeded", b"failed", b"canceled", b"aborted"}
SUBMIT_PATH = "/v1/images/generations"


def submit_jobs(
    stack: Stack, key: str, *, count: int, rate: float
) -> tuple[dict[str, float], dict[str, Any], str]:
    """`count` submits at `rate` a second; job id → wall-clock send time of every 202."""
    result, command = run_openloop(
        stack.url + SUBMIT_PATH,
        rate=rate,
        seconds=count / rate,
        warmup=0,
        method="POST",
        headers={"authorization": f"Bearer {key}"},
        body=SUBMIT_BODY,
        ids=True,
    )
    return dict(result.pop("jobs")), result, command


def wait_finished(stack: Stack, job_ids: Sequence[str], *, timeout: float) -> None:
    """Until every job is terminal; reads only the jobs still pending, so the harness's own
    Valkey commands stay a negligible part of the CPU measured meanwhile."""
    pending = list(job_ids)

    def done() -> bool:
        nonlocal pending
        statuses = stack.job_fields(pending, "status")
        pending = [job for job, (status,) in zip(pending, statuses, strict=True)
                   if status not in TERMINAL]  # fmt: skip
        return not pending

    wait_until(done, timeout=timeout, what=f"{len(job_ids)} jobs to finish", every=0.25)


class Watch:
    """Samples, in a thread, how many generations hold a lease and the summed RSS of the
    given process trees; keeps the highest of each."""

    def __init__(self, stack: Stack, pids: Sequence[int], every: float = 0.25) -> None:
        self.stack, self.pids, self.every = stack, list(pids), every
        self.most_running, self.peak_rss_mb = 0, 0.0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _run(self) -> None:
        while not self._stop.wait(self.every):
            self.most_running = max(self.most_running, self.stack.running())
            rss = sum(rss_mb(tree(pid)) for pid in self.pids)
            self.peak_rss_mb = max(self.peak_rss_mb, rss)

    def __enter__(self) -> Watch:
        self._thread.start()
        return self

    def __exit__(self, *_: object) -> None:
        self._stop.set()
        self._thread.join()


def _pct(values: list[float], fraction: float) -> float:
    if not values:
        return float("nan")
    ordered = sorted(values)
    return round(ordered[min(len(ordered) - 1, int(fraction * len(ordered)))], 1)


def steady(stack: Stack, key: str, *, rate: float, seconds: float, delay_ms: int) -> dict[str, Any]:
    """One worker at its default pool and concurrency, `rate` jobs/s for `seconds`: CPU per job
    by process (API, worker tree, Valkey) over submit → last finish, and the overhead of each
    job beyond the generator's delay. No polls: the harness reads the job records itself."""
    stack.forget_queued_work()
    name = "worker-steady"
    stack.start_worker(name, {"PLACEHOLDER_DELAY_MS": str(delay_ms)})
    time.sleep(1)  # the worker's start-up work (imports, connections) is not a job's
    with CpuMeter(stack.roles(name)) as idle:
        time.sleep(2)
    with CpuMeter(stack.roles(name)) as cpu:
        sent, result, command = submit_jobs(stack, key, count=int(rate * seconds), rate=rate)
        job_ids = list(sent)
        wait_finished(stack, job_ids, timeout=60)
    rows = stack.job_fields(job_ids, "status", "created_at", "started_at", "finished_at")
    pool = stack.worker_pool(name)
    stack.stop_process(name)
    totals, queued, after = [], [], []
    for job_id, (_, created, started, finished) in zip(job_ids, rows, strict=True):
        if not (created and started and finished):
            continue
        totals.append((parse_ts(finished) - sent[job_id]) * 1000 - delay_ms)
        queued.append((parse_ts(started) - parse_ts(created)) * 1000)
        after.append((parse_ts(finished) - parse_ts(started)) * 1000 - delay_ms)
    succeeded = sum(1 for row in rows if row[0] == b"succeeded")
    idle_per_s = {role: round(1000 * spent / idle.wall, 2) for role, spent in idle.seconds.items()}
    return {
        "jobs": len(job_ids),
        "succeeded": succeeded,
        "offered_rate": rate,
        "delay_ms": delay_ms,
        "pool": pool,
        "cpu": cpu.report(len(job_ids)),
        "idle_cpu_ms_per_s": idle_per_s,
        "p50_ms": _pct(totals, 0.5),
        "p99_ms": _pct(totals, 0.99),
        "queue_p50_ms": _pct(queued, 0.5),
        "queue_p99_ms": _pct(queued, 0.99),
        "run_p50_ms": _pct(after, 0.5),
        "run_p99_ms": _pct(after, 0.99),
        "submit_statuses": result["statuses"],
        "command": command,
    }


def drain(
    stack: Stack,
    key: str,
    names: Sequence[str],
    *,
    jobs: int,
    delay_ms: int,
    concurrency: int,
    submit_rate: float = 2000,
    timeout: float = 120,
    env: Mapping[str, str] | None = None,
) -> dict[str, Any]:
    """`jobs` jobs of `delay_ms` submitted as fast as the API takes them to `len(names)` ready
    workers of `concurrency` each. Spans: first send → last finish (`span_from_submit`) and
    first claim → last finish (`span_from_claim`); peak RSS of the workers' process trees."""
    stack.forget_queued_work()
    extra = {"PLACEHOLDER_DELAY_MS": str(delay_ms), "WORKER_CONCURRENCY": str(concurrency),
             **(env or {})}  # fmt: skip
    workers = stack.start_workers(list(names), extra)
    supervisors = [stack.pid(name) for name in names]
    with CpuMeter(stack.roles(*names)) as cpu, Watch(stack, workers) as watch:
        sent, result, command = submit_jobs(stack, key, count=jobs, rate=submit_rate)
        job_ids = list(sent)
        wait_finished(stack, job_ids, timeout=timeout)
    hwm = [round(peak_rss_mb(pid), 1) for pid in workers]
    supervisor_rss = [round(rss_mb([pid]), 1) for pid in supervisors]
    pools = [stack.worker_pool(name) for name in names]
    for name in names:
        stack.stop_process(name)
    rows = stack.job_fields(job_ids, "status", "started_at", "finished_at")
    starts = [parse_ts(row[1]) for row in rows if row[1]]
    ends = [parse_ts(row[2]) for row in rows if row[2]]
    if not ends:
        raise RuntimeError(f"no job of {len(job_ids)} finished; see the workers' logs")
    succeeded = sum(1 for row in rows if row[0] == b"succeeded")
    from_submit = max(ends) - min(sent.values())
    from_claim = max(ends) - min(starts)
    runs = [parse_ts(row[2]) - parse_ts(row[1]) for row in rows if row[1] and row[2]]
    return {
        "workers": len(names),
        "concurrency": concurrency,
        "delay_ms": delay_ms,
        "jobs": len(job_ids),
        "succeeded": succeeded,
        "submit_seconds": round(max(sent.values()) - min(sent.values()), 3),
        "submit_statuses": result["statuses"],
        "span_from_submit": round(from_submit, 3),
        "span_from_claim": round(from_claim, 3),
        # What makes up the span: the claims' spread (first → last claim, the consumer's pace)
        # and the longest claim → finish beyond the delay (the finishing work queued at the end).
        "claim_spread_s": round(max(starts) - min(starts), 3),
        "longest_run_beyond_delay_s": round(max(runs) - delay_ms / 1000, 3),
        "rate": succeeded / from_claim,
        "most_running": watch.most_running,
        "peak_rss_mb": round(watch.peak_rss_mb, 1),
        "hwm_mb": hwm,
        "supervisor_rss_mb": supervisor_rss,
        "pool": pools,
        "cpu": cpu.report(len(job_ids)),
        "command": command,
    }


def many_in_flight(
    stack: Stack,
    key: str,
    *,
    jobs: int,
    delay_ms: int,
    env: Mapping[str, str] | None = None,
    name: str = "worker-inflight",
) -> dict[str, Any]:
    """One worker process holding `jobs` generations at once: ideal ÷ span, and its RSS;
    `env` adds to the worker's environment (a pool: bench.pools). A worker's log is found by
    its `name`, and readiness by "ready" in it: a second worker needs another name."""
    result = drain(stack, key, [name], jobs=jobs, delay_ms=delay_ms,
                   concurrency=jobs, timeout=max(120, 8 * delay_ms / 1000), env=env)  # fmt: skip
    ideal = delay_ms / 1000
    result["ratio"] = ideal / result["span_from_submit"]
    result["ratio_from_claim"] = ideal / result["span_from_claim"]
    return result


def scaling(
    stack: Stack, key: str, *, jobs: int, delay_ms: int, concurrency: int
) -> dict[str, Any]:
    """The same jobs drained by one worker and then by two: throughput ratio, and one worker's
    throughput against the ideal concurrency ÷ delay."""
    one = drain(stack, key, ["worker-1"], jobs=jobs, delay_ms=delay_ms, concurrency=concurrency)
    two = drain(stack, key, ["worker-2a", "worker-2b"], jobs=jobs, delay_ms=delay_ms,
                concurrency=concurrency)  # fmt: skip
    return {
        "one": one,
        "two": two,
        "ratio": two["rate"] / one["rate"],
        "one_vs_ideal": one["rate"] / (concurrency * 1000 / delay_ms),
    }
