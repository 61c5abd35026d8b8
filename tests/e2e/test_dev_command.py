"""`imagegate dev` on no configuration: embedded Valkey + API + worker, stopped by Ctrl-C."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx
import psutil
import pytest

from tests.e2e.stack import free_port, wait_until


def dev_env(port: int) -> dict[str, str]:
    env = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith(("REDIS_", "CELERY_", "OPENAI_", "UNKEY_", "QUOTA_", "IMAGE_"))
    }
    return {**env, "PORT": str(port), "PYTHONUNBUFFERED": "1"}


def test_dev_serves_the_whole_flow_and_ctrl_c_stops_everything(tmp_path: Path) -> None:
    port = free_port()
    log = (tmp_path / "dev.log").open("wb")
    dev = subprocess.Popen(
        [sys.executable, "-m", "entrypoints.cli", "dev"],
        cwd=tmp_path,
        env=dev_env(port),
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    url = f"http://127.0.0.1:{port}"
    try:
        started = time.monotonic()

        def healthy() -> bool:
            assert dev.poll() is None, (tmp_path / "dev.log").read_text()
            try:
                return httpx.get(url + "/healthz", timeout=1).status_code == 200
            except httpx.TransportError:
                return False

        wait_until(healthy, timeout=30, what="imagegate dev to answer")
        assert time.monotonic() - started < 30
        with httpx.Client(base_url=url, timeout=30) as client:
            cookie = client.post("/authorize").headers["set-cookie"]
            assert "HttpOnly" in cookie
            assert "secure" not in cookie.lower()  # dev serves plain HTTP on loopback
            seed = client.post("/generate_image", json={"prompt": "a lighthouse"})
            assert seed.status_code == 200, seed.text
            assert client.get(seed.json()["image_url"]).headers["content-type"] == "image/png"
        output = (tmp_path / "dev.log").read_text()
        assert url in output
        assert "curl" in output
        assert (tmp_path / "var" / "valkey").is_dir()
        children = psutil.Process(dev.pid).children(recursive=True)
        assert len(children) >= 3  # valkey, api, worker (and the worker's Celery child)
    finally:
        dev.send_signal(signal.SIGINT)
        code = dev.wait(timeout=30)
        log.close()
    assert code == 0, (tmp_path / "dev.log").read_text()
    _, alive = psutil.wait_procs(children, timeout=10)
    assert alive == []
    with pytest.raises(httpx.TransportError):
        httpx.get(url + "/healthz", timeout=1)


def test_dev_on_a_busy_port_says_so(tmp_path: Path) -> None:
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        port = busy.getsockname()[1]
        result = subprocess.run(
            [sys.executable, "-m", "entrypoints.cli", "dev"],
            cwd=tmp_path,
            env=dev_env(port),
            capture_output=True,
            text=True,
            timeout=30,
        )
    assert result.returncode != 0
    assert f"127.0.0.1:{port} is already in use" in result.stderr
    assert not (tmp_path / "var" / "valkey").exists()
