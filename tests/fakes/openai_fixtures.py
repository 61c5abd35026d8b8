"""Pytest fixtures for the fake OpenAI server. Register with
`pytest_plugins = ["tests.fakes.openai_fixtures"]` in the root conftest.

- `fake_openai`: a fresh in-process server (a background thread) per test.
- `fake_openai_process`: a separate process (`python -m tests.fakes.openai_server`) shared by
  the session, reset before each test; for workers in other processes.
- `fake_openai_session_process`: the same process, not reset (for session-scoped stacks).

Each yields a `FakeOpenAI` handle: `base_url` (ends in /v1), `api_key`, and the control API.
"""

from __future__ import annotations

import json
import subprocess
import sys
import threading
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.fakes.openai_server import READY_PREFIX, FakeOpenAIServer

ROOT = Path(__file__).resolve().parents[2]
FAKE_OPENAI_KEY = "sk-fake-openai-test-key-0123456789"


class FakeOpenAI:
    """Talks to a running fake over its control API (works for both fixtures alike)."""

    def __init__(self, base_url: str, api_key: str) -> None:
        self.base_url = base_url
        self.api_key = api_key
        self.url = base_url.removesuffix("/v1")

    def script(self, *responses: str | dict[str, Any]) -> None:
        """Queue answers for the next calls: kinds (`"server_error"`) or entries
        (`{"kind": "server_error", "times": 2}`, `{"kind": "slow", "delay": 3}`)."""
        entries = [{"kind": r} if isinstance(r, str) else r for r in responses]
        self._call("POST", "/_fake/script", {"responses": entries})

    def mode(self, response: str | dict[str, Any]) -> None:
        """The answer once the script is used up (initially `ok`)."""
        entry = {"kind": response} if isinstance(response, str) else response
        self._call("POST", "/_fake/mode", entry)

    def reset(self) -> None:
        self._call("POST", "/_fake/reset", {})

    def requests(self) -> list[dict[str, Any]]:
        """Every generation request: `body`, `headers` (lower-case), `status`, `image_sha256`,
        `received_at` (the fake process's monotonic clock, in seconds)."""
        recorded: list[dict[str, Any]] = self._call("GET", "/_fake/requests")["requests"]
        return recorded

    def stats(self) -> dict[str, Any]:
        """`calls`, `in_flight`, `max_in_flight`, `scripted_left`, `images_served`."""
        stats: dict[str, Any] = self._call("GET", "/_fake/stats")
        return stats

    def served_sha256(self) -> set[str]:
        return {digest for request in self.requests() for digest in request["image_sha256"]}

    def wait_for_calls(self, count: int, *, timeout: float = 10.0) -> dict[str, Any]:
        """Poll until at least `count` generation calls arrived; returns the stats."""
        deadline = time.monotonic() + timeout
        while (stats := self.stats())["calls"] < count:
            if time.monotonic() > deadline:
                raise AssertionError(f"fake OpenAI saw {stats['calls']} calls, wanted {count}")
            time.sleep(0.02)
        return stats

    def _call(self, method: str, path: str, body: dict[str, Any] | None = None) -> Any:
        data = None if body is None else json.dumps(body).encode()
        request = urllib.request.Request(self.url + path, data=data, method=method)
        request.add_header("Content-Type", "application/json")
        with urllib.request.urlopen(request, timeout=10) as response:
            return json.loads(response.read())


class FakeOpenAIProcess:
    """`python -m tests.fakes.openai_server` on a free port; ready once it prints its URL."""

    def __init__(self, api_key: str = FAKE_OPENAI_KEY, *, ready_timeout: float = 15.0) -> None:
        command = [sys.executable, "-m", "tests.fakes.openai_server", "--port", "0"]
        self.process = subprocess.Popen(
            [*command, "--host", "127.0.0.1", "--api-key", api_key],
            cwd=ROOT,
            stdout=subprocess.PIPE,
            text=True,
        )
        line = self._ready_line(ready_timeout)
        if not line.startswith(READY_PREFIX):
            self.stop()
            raise RuntimeError(f"fake OpenAI did not start: {line!r}")
        self.handle = FakeOpenAI(line.removeprefix(READY_PREFIX).strip(), api_key)

    def _ready_line(self, timeout: float) -> str:
        lines: list[str] = []
        stdout = self.process.stdout
        assert stdout is not None
        reader = threading.Thread(target=lambda: lines.append(stdout.readline()), daemon=True)
        reader.start()
        reader.join(timeout)
        return lines[0] if lines else ""

    def stop(self) -> None:
        self.process.terminate()
        try:
            self.process.wait(timeout=5)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()
        if self.process.stdout is not None:
            self.process.stdout.close()


@pytest.fixture
def fake_openai() -> Iterator[FakeOpenAI]:
    with FakeOpenAIServer(api_key=FAKE_OPENAI_KEY) as server:
        yield FakeOpenAI(server.base_url, FAKE_OPENAI_KEY)


@pytest.fixture(scope="session")
def fake_openai_session_process() -> Iterator[FakeOpenAI]:
    running = FakeOpenAIProcess()
    try:
        yield running.handle
    finally:
        running.stop()


@pytest.fixture
def fake_openai_process(fake_openai_session_process: FakeOpenAI) -> FakeOpenAI:
    fake_openai_session_process.reset()
    return fake_openai_session_process
