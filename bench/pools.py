"""Which Celery pool holds many I/O-bound generations in one worker process best.

    python -m bench.pools [--pools threads,gevent] [--jobs 1000] [--delay-ms 15000]

Starts the bench's stack (bench.stack) and, for each pool in turn, runs the in-flight phase
of `make bench` (bench.jobs.many_in_flight: `jobs` placeholder generations of `delay_ms` each,
a sleep, submitted at up to 2000/s to one ready worker at WORKER_CONCURRENCY=`jobs`): ideal ÷
span, the peak RSS and the CPU per job of each process. threads, prefork and solo go through
WORKER_POOL as in production; gevent and eventlet through bench.pool_worker (needs the
package: `.venv/bin/pip install gevent`). The pools run one after another on one stack, so
compare them within a run.
"""

from __future__ import annotations

import argparse
import json
import tempfile
from pathlib import Path
from typing import Any

from bench import jobs, phases
from bench.stack import Stack

SETTINGS_POOLS = {"threads", "prefork", "solo"}


def pool_env(pool: str) -> dict[str, str]:
    return {"WORKER_POOL": pool} if pool in SETTINGS_POOLS else {"BENCH_WORKER_POOL": pool}


def compare(pools: list[str], *, count: int, delay_ms: int) -> dict[str, dict[str, Any]]:
    results = {}
    with tempfile.TemporaryDirectory(prefix="imagegate-pools-") as tmp:
        stack = Stack(Path(tmp))
        stack.start()
        try:
            stack.start_api()
            key = phases.mint(stack)
            for number, pool in enumerate(pools):
                run = jobs.many_in_flight(
                    stack, key, jobs=count, delay_ms=delay_ms, env=pool_env(pool),
                    name=f"worker-{number}-{pool}",  # its own log: readiness is read there
                )  # fmt: skip
                results[f"{number}-{pool}"] = {
                    "banner": run["pool"],
                    "succeeded": run["succeeded"],
                    "ideal_over_span": round(run["ratio"], 3),
                    "ideal_over_span_from_claim": round(run["ratio_from_claim"], 3),
                    "most_running": run["most_running"],
                    "peak_rss_mb": run["peak_rss_mb"],
                    "cpu_ms_per_job": run["cpu"]["ms_per"],
                }
                print(pool, json.dumps(results[f"{number}-{pool}"]), flush=True)
        finally:
            stack.stop()
    return results


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="bench.pools", description=__doc__)
    parser.add_argument("--pools", default="threads,gevent")
    parser.add_argument("--jobs", type=int, default=1000)
    parser.add_argument("--delay-ms", type=int, default=15000)
    args = parser.parse_args(argv)
    compare(args.pools.split(","), count=args.jobs, delay_ms=args.delay_ms)


if __name__ == "__main__":
    main()
