"""`python tests/e2e/crashing_api.py`: the real API whose queue dies before enqueueing.

Fault injection for the crash test: the process exits after charging and recording a job,
before the broker has it — the window the outbox and the sweeper exist for. It lives here, not
in src/: production code has no fault switches.
"""

from __future__ import annotations

import dataclasses
import logging
import os

from adapters.prometheus_metrics import Metrics
from domain.ports import Clock, JobQueue
from entrypoints.bootstrap import ApiContainer, build_api
from entrypoints.cli import announce, load_settings, run_api
from entrypoints.settings import Settings

EXIT_CODE = 70


@dataclasses.dataclass(frozen=True)
class DieBeforeEnqueue:
    inner: JobQueue

    def accepting(self) -> bool:
        return self.inner.accepting()

    async def enqueue(self, job_id: str) -> None:
        logging.getLogger("imagegate.fault").error("fault injected: dying before enqueue")
        os._exit(EXIT_CODE)

    async def ping(self) -> None:
        await self.inner.ping()


def crash_before_enqueue(settings: Settings, *, clock: Clock, metrics: Metrics) -> ApiContainer:
    container = build_api(settings, clock=clock, metrics=metrics)
    submit = dataclasses.replace(container.submit, queue=DieBeforeEnqueue(container.submit.queue))
    # The submit route takes the use case from its bundle; the seed aliases by name.
    submissions = dataclasses.replace(container.submissions, submit=submit)
    return dataclasses.replace(container, submit=submit, submissions=submissions)


if __name__ == "__main__":
    settings = load_settings()
    announce(settings)
    run_api(settings, container_factory=crash_before_enqueue)
