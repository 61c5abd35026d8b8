"""Pytest fixtures for the fake Unkey server. Register them with
`pytest_plugins = ["tests.fakes.unkey_fixtures"]` in a test module or the root conftest.

- `fake_unkey` — a fresh in-process `FakeUnkeyServer` per test (real loopback HTTP).
- `fake_unkey_process_session` — one `python -m tests.fakes.unkey_server` subprocess for the
  whole session, as a `FakeUnkeyProcess` (base_url, root_key, api_id, env, controls over HTTP);
  for session-scoped servers (e.g. an API process started once) pointed at it.
- `fake_unkey_process` — the same process, reset (keys, faults, clock, log) before the test.
- `unreachable_url` — a loopback base URL where nothing listens (connecting fails at once).
- `raw_unkey` — a `RawUnkey` client of `fake_unkey`: raw v2 calls with the root key.
"""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.fakes.unkey_client import RawUnkey
from tests.fakes.unkey_server import FakeUnkeyServer
from tests.ports import free_port

ROOT_KEY = "unkey_root_test_5f3a9c"
API_ID = "api_test_imagegate"
_REPO_ROOT = Path(__file__).resolve().parents[2]


@dataclass
class FakeUnkeyProcess:
    """A fake Unkey in its own process, controlled over HTTP (`/_fake/...`)."""

    base_url: str
    root_key: str
    api_id: str
    process: subprocess.Popen[str] = field(repr=False)

    @property
    def env(self) -> dict[str, str]:
        """The environment that points imagegate at this fake."""
        return {
            "QUOTA_PROVIDER": "unkey",
            "UNKEY_BASE_URL": self.base_url,
            "UNKEY_ROOT_KEY": self.root_key,
            "UNKEY_API_ID": self.api_id,
        }

    def _control(self, name: str, body: dict[str, Any]) -> None:
        httpx.post(f"{self.base_url}/_fake/{name}", json=body, timeout=5).raise_for_status()

    def set_fault(self, mode: str, **params: Any) -> None:
        self._control("fault", {"mode": mode, **params})

    def deny(self, *permissions: str) -> None:
        self._control("deny", {"permissions": list(permissions)})

    def set_now(self, now: datetime | None) -> None:
        self._control("clock", {"now": None if now is None else now.isoformat()})

    def reset(self) -> None:
        self._control("reset", {})

    def requests(self, path: str | None = None) -> list[dict[str, Any]]:
        response = httpx.get(f"{self.base_url}/_fake/requests", timeout=5)
        recorded: list[dict[str, Any]] = response.raise_for_status().json()["requests"]
        return [r for r in recorded if path is None or r["path"] == path]


@pytest.fixture
def raw_unkey(fake_unkey: FakeUnkeyServer) -> Iterator[RawUnkey]:
    client = RawUnkey(fake_unkey)
    yield client
    client.http.close()


@pytest.fixture
def fake_unkey() -> Iterator[FakeUnkeyServer]:
    server = FakeUnkeyServer(root_key=ROOT_KEY, api_id=API_ID).start()
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture(scope="session")
def fake_unkey_process_session() -> Iterator[FakeUnkeyProcess]:
    command = [sys.executable, "-m", "tests.fakes.unkey_server", "--host", "127.0.0.1"]
    command += ["--port", "0", "--root-key", ROOT_KEY, "--api-id", API_ID]
    process = subprocess.Popen(command, cwd=_REPO_ROOT, stdout=subprocess.PIPE, text=True)
    try:
        assert process.stdout is not None
        line = process.stdout.readline()  # blocks until ready, or "" if it died
        if not line.startswith("fake-unkey ready "):
            raise RuntimeError(f"the fake Unkey did not start (exit {process.poll()}): {line!r}")
        yield FakeUnkeyProcess(line.split()[-1], ROOT_KEY, API_ID, process)
    finally:
        process.terminate()
        process.wait(timeout=10)


@pytest.fixture
def fake_unkey_process(fake_unkey_process_session: FakeUnkeyProcess) -> FakeUnkeyProcess:
    fake_unkey_process_session.reset()
    return fake_unkey_process_session


@pytest.fixture
def unreachable_url() -> str:
    return f"http://127.0.0.1:{free_port()}"  # nothing listens there
