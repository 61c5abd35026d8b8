"""Profile the API process under load with py-spy (a sampling profiler, `pip install py-spy`).

    python -m bench.profile submit|poll|bare [--seconds 8] [--all-threads]

Starts the same stack as `make bench`, drives the route with wrk and samples the API's GIL
holder with `py-spy record --gil --format raw`; prints where the time goes: the share of samples
in which each function is on the stack (inclusive) and at its top (self), and keeps the
collapsed stacks (flamegraph input) as `bench/profiles/<route>.txt`.
"""

from __future__ import annotations

import argparse
import shutil
import subprocess
import sys
import tempfile
from collections import Counter
from pathlib import Path

from bench import phases
from bench.load import lua_script, require_wrk
from bench.report import ROOT
from bench.stack import Stack


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


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="bench.profile", description=__doc__)
    parser.add_argument("route", choices=["submit", "poll", "bare"])
    parser.add_argument("--seconds", type=int, default=8)
    parser.add_argument(
        "--all-threads", action="store_true", help="sample every thread, not only the GIL holder"
    )
    args = parser.parse_args(argv)
    require_wrk()
    if shutil.which("py-spy") is None and not (Path(sys.executable).parent / "py-spy").exists():
        sys.exit("bench.profile needs py-spy: .venv/bin/pip install py-spy")
    spy = shutil.which("py-spy") or str(Path(sys.executable).parent / "py-spy")
    out_dir = ROOT / "bench" / "profiles"
    out_dir.mkdir(exist_ok=True)
    with tempfile.TemporaryDirectory(prefix="imagegate-profile-") as tmp:
        workdir = Path(tmp)
        stack = Stack(workdir)
        stack.start()
        try:
            stack.start_api()
            key = phases.mint(stack)
            headers = {"Authorization": f"Bearer {key}"}
            if args.route == "submit":
                url = stack.url + "/v1/images/generations"
                headers["Content-Type"] = "application/json"
                script = lua_script(
                    workdir, "s", method="POST", headers=headers, body=phases.SUBMIT_BODY
                )
            elif args.route == "poll":
                url = f"{stack.url}/v1/jobs/{phases.submit_one(stack, key)}"
                script = lua_script(workdir, "s", headers=headers)
            else:
                url, script = stack.url + "/healthz", lua_script(workdir, "s", headers={})
            collapsed = out_dir / f"{args.route}.txt"
            wrk = subprocess.Popen(
                ["wrk", "-t1", "-c64", f"-d{args.seconds + 2}s", "-s", str(script), url],
                stdout=subprocess.PIPE,
                text=True,
            )
            spy_argv = [
                spy, "record", "--format", "raw", "--rate", "250", "--nonblocking",
                "-d", str(args.seconds), "-o", str(collapsed), "-p", str(stack.pid("api")),
            ]  # fmt: skip
            if not args.all_threads:
                spy_argv.append("--gil")  # who holds the GIL: what bounds one process's rate
            subprocess.run(spy_argv, check=True, capture_output=True)
            print(wrk.communicate()[0])
        finally:
            stack.stop()
    print(summarise(collapsed))


if __name__ == "__main__":
    main()
