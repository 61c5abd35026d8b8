"""Waiting for Valkey to go quiet: every waiter has made its reads and sleeps (the e2e waiter
tests and `bench/waiters_http.py`)."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable


async def until_quiet(
    commands: Callable[[], int], *, below: int, every: float = 1.0, patience: float = 60.0
) -> None:
    """Until fewer than `below` commands are processed in `every` seconds; `commands` reads
    the server's processed-command count."""
    deadline = time.monotonic() + patience
    before = commands()
    while time.monotonic() < deadline:
        await asyncio.sleep(every)
        now = commands()
        if now - before < below:
            return
        before = now
    raise AssertionError("Valkey never went quiet")
