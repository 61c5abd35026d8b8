"""An open-loop (constant-rate) HTTP/1.1 load generator, run as its own process.

Request i is due at start + i / rate whatever happened to earlier ones, on a pool of keep-alive
connections (a new one is opened when all are busy), and its latency is counted from when it was
due, not from when it was sent: a stalled server cannot hide its queueing (no coordinated
omission). At a few hundred requests a second it needs a few percent of one core.

    python -m bench.openloop --url http://127.0.0.1:8000/v1/images/generations --rate 400 \
        --duration 8 --method POST --header 'authorization: Bearer …' --body '{"prompt": "p"}'

Prints one JSON object: counts by status, latency percentiles (ms), and with --ids the job id
and wall-clock send time of every 202.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
import time
from urllib.parse import urlsplit

Connection = tuple[asyncio.StreamReader, asyncio.StreamWriter]


def percentile(sorted_values: list[float], fraction: float) -> float:
    if not sorted_values:
        return float("nan")
    index = min(len(sorted_values) - 1, max(0, round(fraction * len(sorted_values)) - 1))
    return sorted_values[index]


async def read_response(reader: asyncio.StreamReader) -> tuple[int, bytes]:
    head = await reader.readuntil(b"\r\n\r\n")
    lines = head.split(b"\r\n")
    status = int(lines[0].split(b" ", 2)[1])
    length = 0
    for line in lines[1:]:
        name, _, value = line.partition(b":")
        if name.strip().lower() == b"content-length":
            length = int(value)
    body = await reader.readexactly(length) if length else b""
    return status, body


async def generate(args: argparse.Namespace) -> dict[str, object]:
    url = urlsplit(args.url)
    host, port = url.hostname or "127.0.0.1", url.port or 80
    body = args.body.encode() if args.body else b""
    head = [f"{args.method} {url.path or '/'} HTTP/1.1", f"Host: {url.netloc}"]
    head += args.header
    if body:
        head += ["Content-Type: application/json", f"Content-Length: {len(body)}"]
    request = ("\r\n".join(head) + "\r\n\r\n").encode() + body

    idle: list[Connection] = [
        await asyncio.open_connection(host, port) for _ in range(args.connections)
    ]
    wall_offset = time.time() - time.perf_counter()
    latencies: list[float] = []
    statuses: dict[int, int] = {}
    jobs: list[tuple[str, float]] = []
    errors = 0
    # perf_counter, not loop.time(): uvloop's clock moves in whole milliseconds.
    clock = time.perf_counter
    warmup_end = clock() + 0.1 + args.warmup
    start = clock() + 0.1
    total = int(args.rate * (args.warmup + args.duration))

    async def one(due: float) -> None:
        nonlocal errors
        connection = idle.pop() if idle else await asyncio.open_connection(host, port)
        sent = clock()
        for attempt in range(2):
            try:
                connection[1].write(request)
                status, payload = await read_response(connection[0])
                break
            except (OSError, asyncio.IncompleteReadError, ValueError):
                connection[1].close()
                if attempt or connection[0].at_eof() is False:
                    errors += 1
                    return
                # The server closed a connection that sat idle past its keep-alive timeout
                # before this request reached it: send it again on a new one.
                connection = await asyncio.open_connection(host, port)
        finished = clock()
        idle.append(connection)
        if due < warmup_end:
            return
        latencies.append((finished - due) * 1000)
        statuses[status] = statuses.get(status, 0) + 1
        if args.ids and status == 202:
            jobs.append((json.loads(payload)["id"], sent + wall_offset))

    tasks: set[asyncio.Task[None]] = set()
    for index in range(total):
        due = start + index / args.rate
        delay = due - clock()
        if delay > 0:
            await asyncio.sleep(delay)
        task = asyncio.create_task(one(due))
        tasks.add(task)
        task.add_done_callback(tasks.discard)
    if tasks:
        await asyncio.wait(tasks, timeout=60)
    elapsed = clock() - warmup_end
    latencies.sort()
    return {
        "rate": args.rate,
        "duration": args.duration,
        "sent": total,
        "measured": len(latencies),
        "achieved_rate": round(len(latencies) / elapsed, 1) if elapsed > 0 else 0.0,
        "errors": errors,
        "statuses": {str(k): v for k, v in sorted(statuses.items())},
        "p50_ms": round(percentile(latencies, 0.50), 2),
        "p90_ms": round(percentile(latencies, 0.90), 2),
        "p99_ms": round(percentile(latencies, 0.99), 2),
        "max_ms": round(latencies[-1], 2) if latencies else float("nan"),
        "jobs": jobs,
    }


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="bench.openloop", description=__doc__)
    parser.add_argument("--url", required=True)
    parser.add_argument("--rate", type=float, required=True, help="requests per second")
    parser.add_argument("--duration", type=float, default=8.0, help="measured seconds")
    parser.add_argument("--warmup", type=float, default=1.0, help="seconds sent, not measured")
    parser.add_argument("--method", default="GET")
    parser.add_argument("--header", action="append", default=[])
    parser.add_argument("--body", default="")
    parser.add_argument("--connections", type=int, default=32, help="opened up front")
    parser.add_argument("--ids", action="store_true", help="report job ids and send times")
    args = parser.parse_args(argv)
    try:
        import uvloop
    except ImportError:
        result = asyncio.run(generate(args))
    else:
        result = uvloop.run(generate(args))
    json.dump(result, sys.stdout)


if __name__ == "__main__":
    main()
