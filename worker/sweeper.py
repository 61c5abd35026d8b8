"""A background thread in each worker process that runs the sweep use case periodically.

Every step of a sweep is atomic, so several workers sweeping at once is safe; it only costs a
few Redis calls per interval.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable

from domain.generation import sweep
from worker.deps import WorkerDeps

log = logging.getLogger("imagegate.sweeper")


class Sweeper:
    def __init__(self, deps: Callable[[], WorkerDeps]) -> None:
        self._deps = deps
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def start(self) -> None:
        if self._thread is None:
            self._thread = threading.Thread(target=self._run, name="imagegate-sweeper", daemon=True)
            self._thread.start()

    def stop(self) -> None:
        self._stop.set()

    def run_once(self) -> None:
        d = self._deps()
        report = sweep(
            ledger=d.ledger,
            dispatcher=d.dispatcher,
            refunder=d.refunder,
            clock=d.clock,
            policy=d.policy,
            grace=d.sweep_grace,
        )
        if report:
            log.info(
                "sweep: requeued %d, failed %d, enqueued %d, refunded %d",
                len(report.requeued),
                len(report.failed),
                len(report.enqueued),
                len(report.refunded),
                extra={"requeued": report.requeued, "failed": report.failed,
                       "enqueued": report.enqueued, "refunded": report.refunded},
            )  # fmt: skip

    def _run(self) -> None:
        interval = self._deps().sweep_interval
        while not self._stop.wait(interval):
            try:
                self.run_once()
            except Exception:  # Redis or the broker away: try again next interval
                log.warning("sweep failed", exc_info=True)
