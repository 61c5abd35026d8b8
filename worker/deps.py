"""What a worker process needs, built once per process by the composition root."""

from __future__ import annotations

from dataclasses import dataclass

from domain.ports import Clock, CreditRefunder, ImageGenerator, ImageStore, JobLedger


@dataclass(frozen=True)
class WorkerDeps:
    ledger: JobLedger
    generator: ImageGenerator
    store: ImageStore
    refunder: CreditRefunder
    clock: Clock
    max_attempts: int
