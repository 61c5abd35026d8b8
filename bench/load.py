"""Running the load generators: wrk for the highest rate, bench.openloop for latency at a rate."""

from __future__ import annotations

import json
import os
import re
import shlex
import shutil
import subprocess
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

WRK_MISSING = (
    "make bench needs wrk (a C HTTP load generator) on the PATH.\n"
    "  Debian/Ubuntu: sudo apt-get update && sudo apt-get install -y wrk\n"
    "  macOS:         brew install wrk"
)
_UNITS = {"us": 0.001, "ms": 1.0, "s": 1000.0, "m": 60_000.0}


def require_wrk() -> str:
    """wrk's path; installs it with apt-get when running as root on Debian/Ubuntu, else says
    how to install it and exits."""
    path = shutil.which("wrk")
    if path is None and os.geteuid() == 0 and shutil.which("apt-get"):
        print("bench: wrk is missing; installing it with apt-get …", flush=True)
        install = ["apt-get", "install", "-y", "-q", "wrk"]
        if subprocess.run(install, capture_output=True, check=False).returncode != 0:
            subprocess.run(["apt-get", "update", "-q"], capture_output=True, check=False)
            subprocess.run(install, capture_output=True, check=False)
        path = shutil.which("wrk")
    if path is None:
        sys.exit(WRK_MISSING)
    return path


def wrk_version() -> str:
    out = subprocess.run(["wrk", "-v"], capture_output=True, text=True, check=False)
    return (out.stdout + out.stderr).splitlines()[0].split(" [")[0]


@dataclass
class WrkResult:
    command: str
    requests: int
    seconds: float
    rate: float
    non_2xx: int
    socket_errors: int
    latency_ms: dict[str, float] = field(default_factory=dict)


def _ms(text: str) -> float:
    match = re.fullmatch(r"([\d.]+)(us|ms|s|m)", text.strip())
    if not match:
        raise ValueError(f"not a wrk duration: {text!r}")
    return float(match[1]) * _UNITS[match[2]]


def lua_script(
    workdir: Path, name: str, *, method: str = "GET", headers: dict[str, str], body: str = ""
) -> Path:
    lines = [f'wrk.method = "{method}"']
    lines += [f'wrk.headers["{k}"] = "{v}"' for k, v in headers.items()]
    if body:
        lines.append(f"wrk.body = {json.dumps(body)}")
    path = workdir / f"{name}.lua"
    path.write_text("\n".join(lines) + "\n")
    return path


def run_wrk(
    url: str,
    *,
    seconds: int,
    connections: int,
    threads: int = 1,
    script: Path | None = None,
) -> WrkResult:
    argv = ["wrk", f"-t{threads}", f"-c{connections}", f"-d{seconds}s", "--latency"]
    if script is not None:
        argv += ["-s", str(script)]
    argv.append(url)
    out = subprocess.run(argv, capture_output=True, text=True, check=True).stdout
    total = re.search(r"(\d+) requests in ([\d.]+)(\w+)", out)
    rate = re.search(r"Requests/sec:\s+([\d.]+)", out)
    if not total or not rate:
        raise RuntimeError(f"unexpected wrk output:\n{out}")
    non_2xx = re.search(r"Non-2xx or 3xx responses: (\d+)", out)
    errors = re.search(r"Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)", out)
    latency = {
        f"p{m[1]}": _ms(m[2])
        for m in re.finditer(r"^\s+(50|75|90|99)(?:\.0+)?%\s+(\S+)", out, re.MULTILINE)
    }
    return WrkResult(
        command=shlex.join(argv),
        requests=int(total[1]),
        seconds=_ms(total[2] + total[3]) / 1000,
        rate=float(rate[1]),
        non_2xx=int(non_2xx[1]) if non_2xx else 0,
        socket_errors=sum(int(n) for n in errors.groups()) if errors else 0,
        latency_ms=latency,
    )


def run_openloop(
    url: str,
    *,
    rate: float,
    seconds: float,
    warmup: float = 1.0,
    method: str = "GET",
    headers: dict[str, str],
    body: str = "",
    ids: bool = False,
) -> tuple[dict[str, Any], str]:
    argv = [
        sys.executable, "-m", "bench.openloop", "--url", url, "--rate", f"{rate:.0f}",
        "--duration", str(seconds), "--warmup", str(warmup), "--method", method,
    ]  # fmt: skip
    for name, value in headers.items():
        argv += ["--header", f"{name}: {value}"]
    if body:
        argv += ["--body", body]
    if ids:
        argv.append("--ids")
    out = subprocess.run(argv, capture_output=True, text=True, check=True).stdout
    shown = [
        a if not a.startswith("authorization:") else "authorization: Bearer $KEY" for a in argv
    ]
    shown[0] = "python"
    return json.loads(out), shlex.join(shown)
