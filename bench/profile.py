"""Profile a stack process under one bench phase's load with py-spy (in the dev extra).

    python -m bench.profile bare|poll|submit|jobs|in_flight [--seconds 8] [--all-threads] [--api]

Starts the same stack as `make bench`. bare, poll, submit: drives the route with wrk and samples
the API. jobs: one worker at its defaults, 100 jobs/s of 500 ms (the CPU-per-job phase), and
samples the worker. in_flight: one worker at WORKER_CONCURRENCY=1000 with 1000 jobs of 15 s,
sampled from the first submit to the last finish. py-spy samples the GIL holder (`--gil`, what
bounds one process) with `--format raw`, following pool children (`--subprocesses`); prints the
share of samples in which each function is on the stack (inclusive) and at its top (self), and
keeps the collapsed stacks (flamegraph input) as `bench/profiles/<phase>.txt`.
"""

from __future__ import annotations

import argparse
import shutil
import subprocess
import sys
import tempfile
from collections import Counter
from pathlib import Path

from bench import jobs, phases
from bench.load import lua_script, require_wrk
from bench.report import ROOT
from bench.stack import Stack

ROUTES = ("submit", "poll", "bare")
JOB_PHASES = {  # phase → the worker's environment, the submit rate
    "jobs": ({"PLACEHOLDER_DELAY_MS": "500"}, 100.0),
    "in_flight": ({"PLACEHOLDER_DELAY_MS": "15000", "WORKER_CONCURRENCY": "1000"}, 2000.0),
}


def summarise(collapsed: Path, top: int = 30) -> str:
    inclusive: Counter[str] = Counter()
    own: Counter[str] = Counter()
    total = 0
    for line in collapsed.read_text().splitlines():
        stack, _, count = line.rpartition(" ")
        samples = int(count)
        total += samples
        frames = [f.split(" (")[0] + " (" + f.split(" (")[1].split(":")[0].rsplit("/", 1)[-1]
                  if " (" in f else f for f in stack.split(";")]  # fmt: skip
        for frame in set(frames):
            inclusive[frame] += samples
        own[frames[-1]] += samples
    lines = [f"{total} samples", "", "inclusive %  self %  function"]
    for frame, samples in inclusive.most_common(top):
        lines.append(f"{100 * samples / total:10.1f}  {100 * own[frame] / total:6.1f}  {frame}")
    lines += ["", "top self time:"]
    for frame, samples in own.most_common(15):
        lines.append(f"{100 * samples / total:6.1f}  {frame}")
    return "\n".join(lines)


def spy_argv(spy: str, pid: int, collapsed: Path, *, seconds: float, gil: bool) -> list[str]:
    argv = [
        spy, "record", "--format", "raw", "--rate", "250", "--nonblocking", "--subprocesses",
        "-d", str(round(seconds)), "-o", str(collapsed), "-p", str(pid),
    ]  # fmt: skip
    if gil:
        argv.append("--gil")  # who holds the GIL: what bounds one process's rate
    return argv


def profile_route(stack: Stack, key: str, route: str, workdir: Path, spy: list[str]) -> None:
    """wrk on one route for the whole of py-spy's recording of the API."""
    headers = {"Authorization": f"Bearer {key}"}
    if route == "submit":
        url = stack.url + "/v1/images/generations"
        headers["Content-Type"] = "application/json"
        script = lua_script(workdir, "s", method="POST", headers=headers, body=phases.SUBMIT_BODY)
    elif route == "poll":
        url = f"{stack.url}/v1/jobs/{phases.submit_one(stack, key)}"
        script = lua_script(workdir, "s", headers=headers)
    else:
        url, script = stack.url + "/healthz", lua_script(workdir, "s", headers={})
    seconds = int(spy[spy.index("-d") + 1])
    wrk = subprocess.Popen(
        ["wrk", "-t1", "-c64", f"-d{seconds + 2}s", "-s", str(script), url],
        stdout=subprocess.PIPE,
        text=True,
    )
    subprocess.run(spy, check=True, capture_output=True)
    print(wrk.communicate()[0])


def profile_jobs(stack: Stack, key: str, phase: str, spy: list[str], *, api: bool) -> None:
    """Jobs submitted to a ready worker while py-spy records it (or, with `api`, the API that
    takes the submits; started before the submits, so `-d` covers them and the generations)."""
    extra, rate = JOB_PHASES[phase]
    seconds = int(spy[spy.index("-d") + 1])
    worker = stack.start_worker("worker-profiled", extra)
    if not api:
        spy[spy.index("-p") + 1] = str(worker)
    recording = subprocess.Popen(spy, stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    count = 1000 if phase == "in_flight" else int(rate * seconds)
    sent, result, _ = jobs.submit_jobs(stack, key, count=count, rate=rate)
    jobs.wait_finished(stack, list(sent), timeout=120)
    output = recording.communicate()[0]
    if recording.returncode:
        raise RuntimeError(f"py-spy failed:\n{output.decode(errors='replace')}")
    print(f"{len(sent)} jobs submitted ({result['statuses']}), all finished")


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="bench.profile", description=__doc__)
    parser.add_argument("phase", choices=[*ROUTES, *JOB_PHASES])
    parser.add_argument("--seconds", type=int, help="recording (default 8; in_flight 20)")
    parser.add_argument(
        "--api", action="store_true", help="jobs, in_flight: sample the API, not the worker"
    )
    parser.add_argument(
        "--all-threads", action="store_true", help="sample every thread, not only the GIL holder"
    )
    args = parser.parse_args(argv)
    require_wrk()
    spy = shutil.which("py-spy") or str(Path(sys.executable).parent / "py-spy")
    if not Path(spy).exists():
        sys.exit("bench.profile needs py-spy: .venv/bin/pip install -e '.[dev]'")
    seconds = args.seconds or (20 if args.phase == "in_flight" else 8)
    out_dir = ROOT / "bench" / "profiles"
    out_dir.mkdir(exist_ok=True)
    collapsed = out_dir / f"{args.phase}{'-api' if args.api else ''}.txt"
    with tempfile.TemporaryDirectory(prefix="imagegate-profile-") as tmp:
        workdir = Path(tmp)
        stack = Stack(workdir)
        stack.start()
        try:
            stack.start_api()
            key = phases.mint(stack)
            argv_ = spy_argv(spy, stack.pid("api"), collapsed, seconds=seconds,
                             gil=not args.all_threads)  # fmt: skip
            if args.phase in JOB_PHASES:
                profile_jobs(stack, key, args.phase, argv_, api=args.api)
            else:
                profile_route(stack, key, args.phase, workdir, argv_)
        finally:
            stack.stop()
    print(summarise(collapsed))


if __name__ == "__main__":
    main()
