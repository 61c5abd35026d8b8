"""Waiting for a job to change, as the domain sees it: a port and what a wake-up says.

A waiter is registered before its first read of the job, so a change that lands between the
read and the wait is never missed: it is already pending when `changed` is called. Wake-ups
coalesce: several changes before the next `changed` are one `Wake` carrying the newest
version. A wake-up is a hint to re-read the job, never the job itself.
"""

from __future__ import annotations

from contextlib import AbstractAsyncContextManager
from dataclasses import dataclass
from typing import Protocol


@dataclass(frozen=True, slots=True)
class Wake:
    version: int | None  # the newest version announced for this job, None if none was
    queue_moved: bool = False  # a job left the queue: positions behind it changed
    resubscribed: bool = False  # notifications may have been lost: re-read regardless


class Waiter(Protocol):
    def watch_queue(self, on: bool) -> None:
        """Also wake when the queue moves (while the job is queued)."""
        ...

    async def changed(self, within: float | None) -> Wake | None:
        """The next wake-up, or None when `within` seconds pass without one."""
        ...


class JobChanges(Protocol):
    def waiter(self, job_id: str, key_id: str) -> AbstractAsyncContextManager[Waiter]:
        """Register a waiter for the job; raises `TooManyWaiters` past the per-key cap."""
        ...
