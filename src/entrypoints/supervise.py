"""Keep a process running: start it again when it dies, stop it cleanly when asked.

The Celery worker exits on some broker failures it cannot recover from itself (for instance a
Redis restart under kombu 5.7); jobs it held are recovered by the sweeper, and this loop brings
the worker back without an operator or a container restart policy.
"""

from __future__ import annotations

import logging
import signal
import subprocess
import sys
import time
from collections.abc import Sequence

log = logging.getLogger("imagegate.supervisor")

_STABLE_SECONDS = 60.0


def supervise(argv: Sequence[str], *, max_backoff: float = 30.0) -> int:
    stopping = False
    child: subprocess.Popen[bytes] | None = None

    def forward(signum: int, _: object) -> None:
        nonlocal stopping
        stopping = True
        if child is not None and child.poll() is None:
            child.send_signal(signum)

    signal.signal(signal.SIGTERM, forward)
    signal.signal(signal.SIGINT, forward)
    backoff = 1.0
    while True:
        started = time.monotonic()
        child = subprocess.Popen(list(argv))
        code = child.wait()
        if stopping:
            return code
        if time.monotonic() - started > _STABLE_SECONDS:
            backoff = 1.0
        log.error("worker process exited with %s; starting it again in %.0fs", code, backoff)
        deadline = time.monotonic() + backoff
        while not stopping and time.monotonic() < deadline:
            time.sleep(0.1)
        if stopping:
            return code
        backoff = min(backoff * 2, max_backoff)


def worker_argv() -> list[str]:
    return [sys.executable, "-m", "worker"]
