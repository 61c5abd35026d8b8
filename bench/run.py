"""`make bench`: one run of every measurement, a table on stdout and docs/BENCHMARKS.md.

python -m bench                   # measure, print, write docs/BENCHMARKS.md
python -m bench --save-baseline   # also keep this run as the "before" column
"""

from __future__ import annotations

import argparse
import json
import tempfile
import time
from pathlib import Path
from typing import Any

from bench import phases
from bench.load import require_wrk
from bench.report import ROOT, machine, print_table, write_markdown
from bench.stack import Stack

BASELINE = ROOT / "bench" / "baseline.json"
LAST_RUN = ROOT / "bench" / "profiles" / "last_run.json"  # not kept in git
WORKER_JOBS = 500
WORKER_DELAY_MS = 2000
OVERHEAD_RATE = 100.0
OVERHEAD_DELAY_MS = 500


def measure(workdir: Path) -> dict[str, Any]:
    stack = Stack(workdir)
    stack.start()
    try:
        stack.start_api()
        key = phases.mint(stack)
        results: dict[str, Any] = {"valkey": stack.server_info()}
        print("bench: bare /healthz …", flush=True)
        results["bare"] = phases.bare(stack)
        print("bench: poll GET /v1/jobs/{id} …", flush=True)
        results["poll"] = phases.poll(stack, key, workdir)
        print("bench: submit, highest sustained rate (no workers) …", flush=True)
        results["submit"] = phases.submit_max(stack, key, workdir)
        half = results["submit"]["rate"] / 2
        print(f"bench: submit latency at {half:.0f} req/s …", flush=True)
        results["submit_latency"] = phases.submit_latency(stack, key, half)
        print(f"bench: one worker, {WORKER_JOBS} jobs of {WORKER_DELAY_MS} ms …", flush=True)
        results["worker"] = phases.worker_throughput(
            stack, key, jobs=WORKER_JOBS, delay_ms=WORKER_DELAY_MS
        )
        print(f"bench: overhead at {OVERHEAD_RATE:.0f} jobs/s …", flush=True)
        results["overhead"] = phases.overhead(
            stack, key, rate=OVERHEAD_RATE, delay_ms=OVERHEAD_DELAY_MS
        )
        results["api_rss_mb"] = phases.peak_rss_mb(stack.pid("api"))
        return results
    finally:
        stack.stop()


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="bench", description=__doc__)
    parser.add_argument("--save-baseline", action="store_true", help="keep as the 'before' run")
    parser.add_argument("--output", type=Path, default=ROOT / "docs" / "BENCHMARKS.md")
    args = parser.parse_args(argv)
    require_wrk()
    started = time.monotonic()
    with tempfile.TemporaryDirectory(prefix="imagegate-bench-") as tmp:
        results = measure(Path(tmp))
    results["machine"] = machine()
    results["seconds"] = round(time.monotonic() - started, 1)
    LAST_RUN.parent.mkdir(exist_ok=True)
    LAST_RUN.write_text(json.dumps(results, indent=2) + "\n")
    if args.save_baseline:
        BASELINE.write_text(json.dumps(results, indent=2) + "\n")
    baseline = json.loads(BASELINE.read_text()) if BASELINE.exists() else None
    print_table(results, baseline)
    write_markdown(args.output, results, baseline)
    print(f"bench: wrote {args.output.relative_to(ROOT)} in {results['seconds']} s")
