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


def supervise(*argvs: Sequence[str], max_backoff: float = 30.0) -> int:
    """Run every command, each started again (with backoff) whenever it dies, until a signal
    stops them all; the exit code of the first command."""
    stopping = False
    children: list[subprocess.Popen[bytes] | None] = [None] * len(argvs)
    started = [0.0] * len(argvs)
    backoff = [1.0] * len(argvs)
    restart_at = [0.0] * len(argvs)

    def forward(signum: int, _: object) -> None:
        nonlocal stopping
        stopping = True
        for child in children:
            if child is not None and child.poll() is None:
                child.send_signal(signum)

    signal.signal(signal.SIGTERM, forward)
    signal.signal(signal.SIGINT, forward)
    while not stopping:
        for i, argv in enumerate(argvs):
            child = children[i]
            if child is None:
                if time.monotonic() >= restart_at[i] and not stopping:
                    started[i] = time.monotonic()
                    children[i] = subprocess.Popen(list(argv))
                continue
            code = child.poll()
            if code is None or stopping:
                continue
            if time.monotonic() - started[i] > _STABLE_SECONDS:
                backoff[i] = 1.0
            log.error("worker process exited with %s; starting it again in %.0fs", code, backoff[i])
            children[i] = None
            restart_at[i] = time.monotonic() + backoff[i]
            backoff[i] = min(backoff[i] * 2, max_backoff)
        time.sleep(0.1)
    codes = [child.wait() for child in children if child is not None]
    return codes[0] if codes else 0


def worker_argv() -> list[str]:
    return [sys.executable, "-m", "worker"]


def webhook_worker_argv() -> list[str]:
    return [sys.executable, "-m", "worker", "--webhooks"]
