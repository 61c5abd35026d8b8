"""How far along a job is, for its resource: its place in the queue while queued, an ETA
while running. Both are estimates (domain/queue_eta.py), never promises."""

from __future__ import annotations

import logging
from dataclasses import dataclass

from domain.errors import StoreUnavailable
from domain.models import Job, JobStatus
from domain.ports import Clock, QueuePlaces
from domain.queue_eta import QueuePlace, running_eta


@dataclass(frozen=True, slots=True)
class Progress:
    queue: QueuePlace | None = None  # while queued
    eta_seconds: int | None = None  # while running


NO_PROGRESS = Progress()
log = logging.getLogger("imagegate.domain")


@dataclass(frozen=True, slots=True)
class JobProgress:
    places: QueuePlaces
    clock: Clock

    async def __call__(self, job: Job) -> Progress:
        """The job's progress, or none when the queue cannot be read: an estimate must not fail
        the answer it decorates (a submit that was charged and queued is still a 202)."""
        try:
            if job.status is JobStatus.QUEUED:
                return Progress(queue=await self.places.place(job.id))
            if job.status is JobStatus.RUNNING and job.started_at is not None:
                elapsed = (self.clock.now() - job.started_at).total_seconds()
                return Progress(eta_seconds=running_eta(elapsed, await self.places.stats()))
        except StoreUnavailable:
            log.warning("progress of job %s unavailable: the queue could not be read", job.id)
        return NO_PROGRESS
