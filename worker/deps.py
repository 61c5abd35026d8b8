"""What a worker process runs, built once per process by `worker.bootstrap`."""

from __future__ import annotations

from collections.abc import Callable
from contextlib import ExitStack
from dataclasses import dataclass
from datetime import timedelta

from domain.generation import RunGeneration
from domain.ports import Clock, ImageStore, JobTransitions
from domain.sweeping import Sweep


@dataclass(frozen=True)
class WorkerDeps:
    run_generation: RunGeneration
    sweep: Sweep
    ledger: JobTransitions  # for the logs' request id
    store: ImageStore  # for purging the images of expired jobs
    clock: Clock
    sweep_interval: float
    image_ttl: timedelta  # images older than this belong to expired jobs
    resources: ExitStack  # clients and threads to close at shutdown
    kick_webhooks: Callable[[], None] = lambda: None  # ask the webhook consumer for a pass
    heartbeat: Callable[[], None] = lambda: None  # tells the API this worker's capacity

    def close(self) -> None:
        self.resources.close()
