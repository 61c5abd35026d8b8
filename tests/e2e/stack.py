"""Real processes for end-to-end tests: `imagegate api` (uvicorn) and `imagegate worker`
(Celery), started as the production commands, against the session's embedded Valkey."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import TypeVar

import httpx

from tests.ports import free_port

__all__ = ["ROOT", "Stack", "free_port", "wait_until"]

T = TypeVar("T")
ROOT = Path(__file__).resolve().parents[2]


def wait_until(
    probe: Callable[[], T | None], *, timeout: float, what: str, every: float = 0.05
) -> T:
    """Poll `probe` until it returns something truthy, or fail after `timeout` seconds."""
    deadline = time.monotonic() + timeout
    while True:
        value = probe()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout}s waiting for {what}")
        time.sleep(every)


class Stack:
    def __init__(self, workdir: Path, redis_url: str, env: Mapping[str, str] | None = None) -> None:
        self.workdir = workdir
        self.redis_url = redis_url
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.env = {
            **{k: v for k, v in os.environ.items() if not k.startswith(("OPENAI_", "UNKEY_"))},
            "REDIS_URL": redis_url,
            "HOST": "127.0.0.1",
            "PORT": str(self.port),
            "IMAGE_STORE_DIR": str(workdir / "images"),
            "COOKIE_SECURE": "false",
            "LOG_FORMAT": "json",
            "LOG_LEVEL": "INFO",
            "WORKER_CONCURRENCY": "8",
            "SYNC_WAIT_SECONDS": "20",
            "PYTHONUNBUFFERED": "1",
            **(env or {}),
        }
        self.processes: dict[str, subprocess.Popen[bytes]] = {}

    def _spawn(
        self,
        name: str,
        role: str,
        extra: Mapping[str, str] | None = None,
        *,
        launcher: Path | None = None,
    ) -> None:
        log = open(self.workdir / f"{name}.log", "ab")  # noqa: SIM115 - lives with the process
        command = [str(launcher)] if launcher else ["-m", "entrypoints.cli", role]
        self.processes[name] = subprocess.Popen(
            [sys.executable, *command],
            env={**self.env, **(extra or {})},
            cwd=self.workdir,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )

    def start_api(
        self,
        name: str = "api",
        extra: Mapping[str, str] | None = None,
        *,
        port: int | None = None,
        launcher: Path | None = None,
    ) -> str:
        """Start an API process; returns its base URL (the stack's own unless `port` is given).
        `launcher`: a script that serves the API instead of `imagegate api` (fault injection)."""
        url = self.url if port is None else f"http://127.0.0.1:{port}"
        env = dict(extra or {})
        if port is not None:
            env["PORT"] = str(port)
        self._spawn(name, "api", env, launcher=launcher)
        # One client for all the polls: each `httpx.get` builds a client and its TLS context
        # (~25 ms of CPU), which over the suite's hundreds of API starts slowed the stacks too.
        with httpx.Client(timeout=1) as probe:

            def healthy() -> bool:
                self._check_alive(name)
                try:
                    return probe.get(url + "/healthz").status_code == 200
                except httpx.TransportError:
                    return False

            wait_until(healthy, timeout=30, what=f"{name} to answer /healthz")
        return url

    def start_worker(self, name: str = "worker", extra: Mapping[str, str] | None = None) -> None:
        self._spawn(name, "worker", extra)
        wait_until(
            lambda: b"ready" in self.log(name).encode() or (self._check_alive(name) and False),
            timeout=30,
            what=f"{name} to be ready",
        )

    def _check_alive(self, name: str) -> bool:
        process = self.processes[name]
        if process.poll() is not None:
            raise AssertionError(f"{name} exited with {process.returncode}:\n{self.log(name)}")
        return True

    def log(self, name: str) -> str:
        path = self.workdir / f"{name}.log"
        return path.read_text(errors="replace") if path.exists() else ""

    def kill(self, name: str, sig: int = signal.SIGKILL) -> None:
        process = self.processes[name]
        if process.poll() is None:
            os.killpg(process.pid, sig)
            process.wait(timeout=30)

    def stop(self) -> None:
        for process in self.processes.values():
            if process.poll() is None:
                os.killpg(process.pid, signal.SIGTERM)
        for process in self.processes.values():
            try:
                process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                os.killpg(process.pid, signal.SIGKILL)
                process.wait(timeout=5)

    def client(self, **kwargs: object) -> httpx.Client:
        return httpx.Client(base_url=self.url, timeout=30, **kwargs)  # type: ignore[arg-type]
