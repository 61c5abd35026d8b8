"""The job resource's JSON, encoded once per job record and progress, not once per answer.

The waiters of one job woken by one change, and the polls of a job that has not changed, are
handed the same `Job` object by the job cache (adapters/cached_jobs.py): they share its
encoding here, keyed by that object's identity (so a store that hands out a new object for
every read just misses, never answers wrong) and by the progress shown with it.
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Callable
from typing import Generic, TypeVar

import msgspec

from domain.job_progress import Progress
from domain.models import Job
from entrypoints.http.schemas import job_out

T = TypeVar("T")
MEMO_SIZE = 1024

encode_json = msgspec.json.Encoder().encode


class ByJob(Generic[T]):
    """The last `size` values made from a (job, progress), by the job object's identity."""

    def __init__(self, size: int = MEMO_SIZE) -> None:
        self._size = size
        self._made: OrderedDict[int, tuple[Job, Progress, T]] = OrderedDict()

    def get(self, job: Job, progress: Progress, make: Callable[[], T]) -> T:
        held = self._made.get(id(job))
        if held is not None and held[0] is job and held[1] == progress:
            return held[2]
        value = make()
        self._made[id(job)] = (job, progress, value)  # holds the job: its id is not reused
        if len(self._made) > self._size:
            self._made.popitem(last=False)
        return value


_BODIES: ByJob[bytes] = ByJob()


def job_json(job: Job, progress: Progress) -> bytes:
    """The job resource as JSON bytes (what `job_out` gives, encoded)."""
    return _BODIES.get(job, progress, lambda: encode_json(job_out(job, progress)))
