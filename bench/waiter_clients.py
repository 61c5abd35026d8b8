"""The client side of `python -m bench.waiters --http`: thousands of waiters on raw asyncio
sockets, in a process of its own (not a test).

    python -m bench.waiter_clients HOST PORT PLAN.json

PLAN.json is `{"waiters": [["sse" | "poll", job_id, api_key], ...], "timeout": seconds}`.
An "sse" waiter is `GET /v1/jobs/{id}/events`; a "poll" waiter is `GET /v1/jobs/{id}` with
`Prefer: wait=60`. Each is one connection with a hand-written request and a protocol that only
scans the bytes it receives, so the client's CPU stays small next to the server's (httpx in
the harness's own process cost more than the server did). It reports on stdout, one JSON
line each:

    {"event": "connected", "sse": n}    every SSE stream has its first event
    {"event": "running", "sse": n, "cpu_s": x}   every SSE stream has seen `running`
    {"event": "done", "arrivals": [...], "refused": [...], "cpu_s": x, "missed": k}

`cpu_s` is the process's CPU time so far, so the harness can tell the finish's share.

`arrivals` are `time.monotonic()` readings (one clock for every process on Linux) of each
waiter's `succeeded`, so the harness subtracts the moment it made the change.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import resource
import sys
import time
from pathlib import Path

CONNECT_BATCH = 256  # connections opened at once: the listen backlog is finite
SUCCEEDED = b'"status":"succeeded"'
RUNNING = b'"status":"running"'


class _Counts:
    def __init__(self, sse: int) -> None:
        self.sse = sse
        self.connected = 0
        self.running = 0
        self.pending = 0
        self.arrivals: list[float] = []
        self.refused: list[str] = []
        self.all_connected = asyncio.Event()
        self.all_running = asyncio.Event()
        self.all_done = asyncio.Event()

    def finished(self) -> None:
        self.pending -= 1
        if self.pending == 0:
            self.all_done.set()


class Waiter(asyncio.Protocol):
    """One waiter: sends its request, then only looks for the statuses it reports."""

    def __init__(self, request: bytes, streaming: bool, counts: _Counts) -> None:
        self._request = request
        self._streaming = streaming
        self._counts = counts
        self._tail = b""  # the end of the previous chunk: a status may span two
        self._head = True
        self._saw_data = self._saw_running = self._done = False
        self._transport: asyncio.Transport | None = None

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self._transport = transport  # type: ignore[assignment]
        self._transport.write(self._request)

    def data_received(self, data: bytes) -> None:
        if self._done:
            return
        if self._head:
            self._head = False
            if not data.startswith(b"HTTP/1.1 200"):
                self._finish(refused=data.split(b"\r\n", 1)[0].decode(errors="replace"))
                return
        seen = self._tail + data
        self._tail = seen[-32:]
        counts = self._counts
        if self._streaming:
            if not self._saw_data and b"data:" in seen:
                self._saw_data = True
                counts.connected += 1
                if counts.connected == counts.sse:
                    counts.all_connected.set()
            if not self._saw_running and RUNNING in seen:
                self._saw_running = True
                counts.running += 1
                if counts.running == counts.sse:
                    counts.all_running.set()
        if SUCCEEDED in seen:
            counts.arrivals.append(time.monotonic())
            self._finish()

    def _finish(self, refused: str | None = None) -> None:
        self._done = True
        if refused is not None:
            self._counts.refused.append(refused)
        if self._transport is not None:
            self._transport.close()
        self._counts.finished()

    def connection_lost(self, exc: Exception | None) -> None:
        if not self._done:
            self._finish(refused=f"closed early: {exc!r}")


def _request(kind: str, job_id: str, key: str) -> bytes:
    path = f"/v1/jobs/{job_id}/events" if kind == "sse" else f"/v1/jobs/{job_id}"
    wait = "" if kind == "sse" else "Prefer: wait=60\r\n"
    return (
        f"GET {path} HTTP/1.1\r\nHost: bench\r\nAuthorization: Bearer {key}\r\n{wait}\r\n"
    ).encode()


def _cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return round(usage.ru_utime + usage.ru_stime, 3)


def _say(event: str, **fields: object) -> None:
    sys.stdout.write(json.dumps({"event": event, **fields}) + "\n")
    sys.stdout.flush()


async def run(host: str, port: int, waiters: list[list[str]], patience: float) -> None:
    loop = asyncio.get_running_loop()
    counts = _Counts(sum(1 for kind, _, _ in waiters if kind == "sse"))
    counts.pending = len(waiters)
    if counts.sse == 0:
        counts.all_connected.set()
        counts.all_running.set()
    transports = []
    for start in range(0, len(waiters), CONNECT_BATCH):
        batch = waiters[start : start + CONNECT_BATCH]
        opened = await asyncio.gather(
            *(
                loop.create_connection(
                    lambda kind=kind, job=job, key=key: Waiter(  # type: ignore[misc]
                        _request(kind, job, key), kind == "sse", counts
                    ),
                    host,
                    port,
                )
                for kind, job, key in batch
            )
        )
        transports.extend(transport for transport, _ in opened)
    await asyncio.wait_for(counts.all_connected.wait(), patience)
    _say("connected", sse=counts.connected)
    await asyncio.wait_for(counts.all_running.wait(), patience)
    _say("running", sse=counts.running, cpu_s=_cpu())
    with contextlib.suppress(TimeoutError):  # the waiters still pending are reported missed
        await asyncio.wait_for(counts.all_done.wait(), patience)
    _say(
        "done",
        arrivals=counts.arrivals,
        refused=counts.refused[:20],
        refused_count=len(counts.refused),
        missed=counts.pending,
        cpu_s=_cpu(),
    )
    for transport in transports:
        transport.close()


def main() -> None:
    host, port, plan_path = sys.argv[1], int(sys.argv[2]), Path(sys.argv[3])
    plan = json.loads(plan_path.read_text())
    _, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
    asyncio.run(run(host, port, plan["waiters"], float(plan.get("timeout", 120))))


if __name__ == "__main__":
    main()
