"""A chore the API process runs every few seconds on its event loop (deadline enforcement):
started and stopped with the app, and a failing round is logged and tried again next time."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Awaitable, Callable

log = logging.getLogger("imagegate.api")


class Periodic:
    def __init__(self, name: str, run: Callable[[], Awaitable[object]], every: float) -> None:
        self.name = name
        self._run = run
        self._every = every
        self._task: asyncio.Task[None] | None = None

    async def start(self) -> None:
        if self._task is None:
            self._task = asyncio.create_task(self._loop(), name=self.name)

    async def aclose(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
            self._task = None

    async def _loop(self) -> None:
        while True:
            await asyncio.sleep(self._every)
            try:
                await self._run()
            except Exception:  # Redis away: the next round tries again
                log.warning("%s failed", self.name, exc_info=True)
