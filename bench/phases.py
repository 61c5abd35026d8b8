"""The HTTP measurements, one function each (the job phases are in bench/jobs.py). Every one
returns plain data for the report, with the CPU each process spent per request ("cpu")."""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Any

import httpx

from bench.load import lua_script, run_openloop, run_wrk
from bench.procfs import CpuMeter
from bench.stack import Stack, wait_until

SUBMIT_BODY = json.dumps({"prompt": "a lighthouse at dusk"})
WRK_SECONDS = 8
WRK_CONNECTIONS = 64
TERMINAL = {b"succeeded", b"failed", b"canceled"}


def mint(stack: Stack) -> str:
    response = httpx.post(stack.url + "/v1/keys", timeout=10)
    response.raise_for_status()
    return str(response.json()["key"])


def remaining(stack: Stack, key: str) -> int:
    me = httpx.get(stack.url + "/v1/me", headers={"authorization": f"Bearer {key}"}, timeout=10)
    return int(me.json()["credits"]["remaining"])


def submit_one(stack: Stack, key: str) -> str:
    response = httpx.post(
        stack.url + "/v1/images/generations",
        content=SUBMIT_BODY,
        headers={"authorization": f"Bearer {key}", "content-type": "application/json"},
        timeout=10,
    )
    response.raise_for_status()
    return str(response.json()["id"])


def bare(stack: Stack) -> dict[str, Any]:
    with CpuMeter(stack.roles()) as cpu:
        result = run_wrk(stack.url + "/healthz", seconds=WRK_SECONDS, connections=WRK_CONNECTIONS)
    return {
        "rate": result.rate,
        "non_2xx": result.non_2xx,
        "command": result.command,
        "cpu": cpu.report(result.requests),
    }


def poll(stack: Stack, key: str, workdir: Path) -> dict[str, Any]:
    job_id = submit_one(stack, key)
    script = lua_script(workdir, "poll", headers={"Authorization": f"Bearer {key}"})
    with CpuMeter(stack.roles()) as cpu:
        result = run_wrk(
            f"{stack.url}/v1/jobs/{job_id}",
            seconds=WRK_SECONDS,
            connections=WRK_CONNECTIONS,
            script=script,
        )
    return {
        "rate": result.rate,
        "cpu": cpu.report(result.requests),
        "non_2xx": result.non_2xx,
        "command": result.command.replace(job_id, "$JOB_ID"),
        "script": script.read_text().replace(key, "$KEY"),
    }


def submit_max(stack: Stack, key: str, workdir: Path) -> dict[str, Any]:
    """The highest rate of accepted submits, counted as sustained only once every accepted job
    is in the broker (a relay that falls behind does not count as throughput)."""
    before = remaining(stack, key)
    depth_before = stack.broker_depth()
    script = lua_script(
        workdir,
        "submit",
        method="POST",
        headers={"Authorization": f"Bearer {key}", "Content-Type": "application/json"},
        body=SUBMIT_BODY,
    )
    cpu = CpuMeter(stack.roles()).start()
    started = time.monotonic()
    result = run_wrk(
        stack.url + "/v1/images/generations",
        seconds=WRK_SECONDS * 5 // 4,
        connections=WRK_CONNECTIONS,
        script=script,
    )
    load_end = time.monotonic()
    accepted = before - remaining(stack, key)
    wait_until(
        lambda: stack.broker_depth() - depth_before >= accepted,
        timeout=60,
        what="every accepted job to reach the broker",
        every=0.01,
    )
    drained = time.monotonic()
    cpu.stop()
    in_broker = stack.broker_depth() - depth_before
    return {
        "rate": accepted / (drained - started),
        "cpu": cpu.report(accepted),
        "wrk_rate": result.rate,
        "accepted": accepted,
        "in_broker": in_broker,
        "drain_seconds": round(drained - load_end, 3),
        "non_2xx": result.non_2xx,
        "socket_errors": result.socket_errors,
        "command": result.command,
        "script": script.read_text().replace(key, "$KEY"),
    }


def submit_latency(stack: Stack, key: str, rate: float) -> dict[str, Any]:
    time.sleep(3)  # let the burst of the max-rate phase settle (sockets, allocator, GC)
    with CpuMeter(stack.roles()) as cpu:
        result, command = run_openloop(
            stack.url + "/v1/images/generations",
            rate=rate,
            seconds=8,
            warmup=2,
            method="POST",
            headers={"authorization": f"Bearer {key}"},
            body=SUBMIT_BODY,
        )
    result.pop("jobs")
    # The control: /healthz at the same rate from the same generator — the tail this machine
    # adds (scheduling on shared CPUs) to any request, whatever the route does.
    control, _ = run_openloop(stack.url + "/healthz", rate=rate, seconds=8, warmup=2, headers={})
    control.pop("jobs", None)
    return {**result, "command": command, "cpu": cpu.report(result["sent"]), "control": control}
