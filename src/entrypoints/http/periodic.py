"""A chore the API process runs every few seconds on its event loop (deadline enforcement):
started and stopped with the app, and a failing round is logged and tried again next time."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable

from adapters.background import BackgroundTask

log = logging.getLogger("imagegate.api")


class Periodic:
    def __init__(self, name: str, run: Callable[[], Awaitable[object]], every: float) -> None:
        self.name = name
        self._run = run
        self._every = every
        self._task = BackgroundTask(name, self._loop)

    async def start(self) -> None:
        self._task.start()

    async def aclose(self) -> None:
        await self._task.aclose()

    async def _loop(self) -> None:
        while True:
            await asyncio.sleep(self._every)
            try:
                await self._run()
            except Exception:  # Redis away: the next round tries again
                log.warning("%s failed", self.name, exc_info=True)
