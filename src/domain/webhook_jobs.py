"""Job transitions → webhook deliveries, at least once.

Each transition a job's webhook asked for leaves a note in the same atomic step as the
transition (lib_webhook_event.lua): `(job id, status, attempt)`. `record_job_events` turns notes
into deliveries — the payload's `data` is the job resource as `GET /v1/jobs/{id}` renders it —
and only then forgets the note. A crash in between leaves the note, and the next pass records it
again under the same delivery id (derived from the note), so it is never recorded twice.

The resource is rendered when the note is recorded, normally within moments of the transition;
a `job.running` note recorded late shows the job as it is by then.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, replace
from typing import Any, Protocol

from domain.models import Job
from domain.ports import Clock
from domain.webhook_api import webhook_of
from domain.webhook_log import Delivery
from domain.webhook_service import job_event_delivery


@dataclass(frozen=True, slots=True)
class JobEventNote:
    job_id: str
    status: str
    attempt: str
    raw: str  # as stored, to forget it by

    @classmethod
    def parse(cls, raw: str) -> JobEventNote:
        job_id, status, attempt = raw.split("|")
        return cls(job_id, status, attempt, raw)

    @property
    def delivery_id(self) -> str:
        """The same for every pass over this note: a retried pass overwrites nothing."""
        return "msg_" + hashlib.sha256(self.raw.encode()).hexdigest()[:24]


class JobEventNotes(Protocol):
    def pending(self, limit: int) -> Sequence[JobEventNote]: ...

    def forget(self, note: JobEventNote) -> None: ...


class NewDeliveries(Protocol):
    def add_new(self, delivery: Delivery) -> bool:
        """Record the delivery unless one with its id exists; whether it was recorded."""
        ...


def record_job_events(
    notes: JobEventNotes,
    *,
    get_job: Callable[[str], Job | None],
    log: NewDeliveries,
    render: Callable[[Job], Mapping[str, Any]],
    clock: Clock,
    limit: int = 100,
) -> int:
    """Turn pending notes into deliveries; how many deliveries were recorded."""
    recorded = 0
    for note in notes.pending(limit):
        job = get_job(note.job_id)  # None: expired since, nothing left to report
        if job is not None:
            delivery = job_event_delivery(
                webhook=webhook_of(job),
                job_id=job.id,
                key_id=job.owner,
                status=note.status,
                job_resource=render(job),
                now=clock.now(),
            )
            if delivery is not None and log.add_new(replace(delivery, id=note.delivery_id)):
                recorded += 1
        notes.forget(note)
    return recorded
