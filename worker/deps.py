"""What a worker process needs, built once per process by the composition root."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta

from domain.generation import WorkerPolicy
from domain.ports import (
    Clock,
    CreditRefunder,
    ImageGenerator,
    ImageStore,
    JobDispatcher,
    JobLedger,
    LeaseKeeper,
)


@dataclass(frozen=True)
class WorkerDeps:
    ledger: JobLedger
    generator: ImageGenerator
    store: ImageStore
    refunder: CreditRefunder
    leases: LeaseKeeper
    dispatcher: JobDispatcher
    clock: Clock
    policy: WorkerPolicy
    sweep_interval: float
    sweep_grace: timedelta
    image_ttl: timedelta  # images older than this belong to expired jobs
