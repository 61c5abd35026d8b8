"""`make bench`: one run of every measurement, a table on stdout and docs/BENCHMARKS.md.

python -m bench                   # measure, print, write docs/BENCHMARKS.md
python -m bench --save-baseline   # also keep this run as the "before" column
"""

from __future__ import annotations

import argparse
import importlib
import json
import os
import sys
import tempfile
import time
import traceback
from collections.abc import Callable
from pathlib import Path
from typing import Any

from bench import jobs, phases
from bench.load import require_wrk
from bench.markdown import write_markdown
from bench.procfs import peak_rss_mb
from bench.report import ROOT, figure_values, machine, print_table
from bench.stack import Stack

BASELINE = ROOT / "bench" / "baseline.json"  # the "before" column: figure key → value
LAST_RUN = ROOT / "bench" / "profiles" / "last_run.json"  # not kept in git
STEADY_RATE, STEADY_SECONDS, STEADY_DELAY_MS = 100.0, 10.0, 500
IN_FLIGHT_JOBS, IN_FLIGHT_DELAY_MS = 1000, 15_000
SCALING_JOBS, SCALING_DELAY_MS, SCALING_CONCURRENCY = 400, 2000, 100
PHASES = ("bare", "poll", "submit", "submit_latency", "steady", "scaling", "in_flight", "waiters")
ONLY: set[str] = set()  # --only: a subset of PHASES, for working on one


def waiters(stack: Stack, key: str, workdir: Path) -> dict[str, Any]:
    """HOOK for issue 13 (live job events), written by its engineer as `bench/waiters.py`:

        def measure(stack: Stack, key: str, workdir: Path) -> dict[str, Any]

    returning at least "max_waiters" (the largest number of concurrent waiters one API process
    held with every waiter notified within 1 s of the change), "p50_ms" and "p99_ms" (the
    notification latency at 1,000 waiters) and "command"; bench/report.py shows those rows.
    The API is running (stack.url, `key` has credits); start workers with stack.start_worker.
    """
    try:
        module = importlib.import_module("bench.waiters")
    except ModuleNotFoundError as missing:
        if missing.name != "bench.waiters":
            raise
        return {"skipped": "bench/waiters.py is not written yet (issue 13)"}
    return dict(module.measure(stack, key, workdir))


def _phase(results: dict[str, Any], name: str, what: str, run: Callable[[], Any]) -> Any:
    """One measurement; a phase that fails is reported as such and the run goes on, so code in
    flux still gets every other figure."""
    if ONLY and name not in ONLY:
        return {}
    print(f"bench: {what} …", flush=True)
    started = time.monotonic()
    try:
        results[name] = run()
    except Exception as error:
        traceback.print_exc()
        results[name] = {"error": f"{type(error).__name__}: {error}"}
    results.setdefault("phase_seconds", {})[name] = round(time.monotonic() - started, 1)
    return results[name]


def measure(workdir: Path) -> dict[str, Any]:
    stack = Stack(workdir)
    stack.start()
    try:
        stack.start_api()
        key = phases.mint(stack)
        results: dict[str, Any] = {"valkey": stack.server_info()}
        _phase(results, "bare", "bare /healthz", lambda: phases.bare(stack))
        _phase(results, "poll", "poll GET /v1/jobs/{id}", lambda: phases.poll(stack, key, workdir))
        submit = _phase(results, "submit", "submit, highest sustained rate (no workers)",
                        lambda: phases.submit_max(stack, key, workdir))  # fmt: skip
        if "rate" in submit:
            half = submit["rate"] / 2
            _phase(results, "submit_latency", f"submit latency at {half:.0f} req/s",
                   lambda: phases.submit_latency(stack, key, half))  # fmt: skip
        _phase(
            results,
            "steady",
            f"CPU per job: one worker, {STEADY_RATE:.0f} jobs/s for {STEADY_SECONDS:.0f} s",
            lambda: jobs.steady(stack, key, rate=STEADY_RATE, seconds=STEADY_SECONDS,
                                delay_ms=STEADY_DELAY_MS),
        )  # fmt: skip
        _phase(
            results,
            "scaling",
            f"one worker, then two: {SCALING_JOBS} jobs of {SCALING_DELAY_MS} ms",
            lambda: jobs.scaling(stack, key, jobs=SCALING_JOBS, delay_ms=SCALING_DELAY_MS,
                                 concurrency=SCALING_CONCURRENCY),
        )  # fmt: skip
        _phase(
            results,
            "in_flight",
            f"one worker process, {IN_FLIGHT_JOBS} jobs of {IN_FLIGHT_DELAY_MS // 1000} s",
            lambda: jobs.many_in_flight(stack, key, jobs=IN_FLIGHT_JOBS,
                                        delay_ms=IN_FLIGHT_DELAY_MS),
        )  # fmt: skip
        # Before the waiters: their thousands of connections are a load of their own (the
        # phase reports the API's RSS with them).
        results["api_rss_mb"] = peak_rss_mb(stack.pid("api"))
        _phase(results, "waiters", "waiters (issue 13 hook)",
               lambda: waiters(stack, key, workdir))  # fmt: skip
        return results
    finally:
        stack.stop()


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="bench", description=__doc__)
    parser.add_argument("--save-baseline", action="store_true", help="keep as the 'before' run")
    parser.add_argument("--output", type=Path, default=ROOT / "docs" / "BENCHMARKS.md")
    parser.add_argument(
        "--only", default="", help=f"comma-separated phases of {','.join(PHASES)}; "
        "prints the table but writes no docs/BENCHMARKS.md"
    )  # fmt: skip
    args = parser.parse_args(argv)
    ONLY.update(name for name in args.only.split(",") if name)
    if ONLY - set(PHASES):
        parser.error(f"unknown phases: {', '.join(sorted(ONLY - set(PHASES)))}")
    require_wrk()
    started = time.monotonic()
    load_before = os.getloadavg()
    with tempfile.TemporaryDirectory(prefix="imagegate-bench-") as tmp:
        results = measure(Path(tmp))
    results["machine"] = machine()
    results["loadavg"] = {"before": load_before, "after": os.getloadavg()}
    results["seconds"] = round(time.monotonic() - started, 1)
    extra = " ".join(argv if argv is not None else sys.argv[1:])
    results["command"] = f"python -m bench {extra}" if extra else "make bench"
    LAST_RUN.parent.mkdir(exist_ok=True)
    LAST_RUN.write_text(json.dumps(results, indent=2) + "\n")
    if args.save_baseline:
        saved = {"source": f"python -m bench run of {results['machine']['date']}",
                 "figures": figure_values(results)}  # fmt: skip
        BASELINE.write_text(json.dumps(saved, indent=2) + "\n")
    baseline = json.loads(BASELINE.read_text()) if BASELINE.exists() else None
    print_table(results, baseline)
    if ONLY:
        print(f"bench: --only {args.only}: {LAST_RUN.relative_to(ROOT)} written, docs not")
        return
    write_markdown(args.output, results, baseline)
    print(f"bench: wrote {args.output.relative_to(ROOT)} in {results['seconds']} s")
