"""A background thread in each worker process that runs the sweep use case
(`domain.sweeping.Sweep`) and purges expired images, periodically.

Every step of a sweep is atomic, so several workers sweeping at once is safe; it only costs a
few Redis calls per interval.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable

from worker.deps import WorkerDeps

log = logging.getLogger("imagegate.sweeper")

PURGE_EVERY_SECONDS = 300.0
PURGE_BATCH = 500


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
        report = self._deps().sweep()
        if report:
            log.info(
                "sweep: requeued %d, failed %d, enqueued %d, refunded %d, past deadline %d",
                len(report.requeued),
                len(report.failed),
                len(report.enqueued),
                len(report.refunded),
                len(report.past_deadline),
                extra={"requeued": report.requeued, "failed": report.failed,
                       "enqueued": report.enqueued, "refunded": report.refunded,
                       "past_deadline": report.past_deadline},
            )  # fmt: skip

    def purge_images(self) -> None:
        """Images outlive nothing: those of expired jobs go, a bounded batch at a time."""
        d = self._deps()
        purged = d.store.purge(d.clock.now() - d.image_ttl, limit=PURGE_BATCH)
        if purged:
            log.info("purged the images of %d expired jobs", purged)

    def _heartbeat(self) -> None:
        try:
            self._deps().heartbeat()
        except Exception:  # the ETA goes unknown for a while; nothing else depends on it
            log.warning("publishing the worker's capacity failed", exc_info=True)

    def _run(self) -> None:
        interval = self._deps().sweep_interval
        last_purge = 0.0
        self._heartbeat()
        while not self._stop.wait(interval):
            self._heartbeat()
            try:
                if time.monotonic() - last_purge > PURGE_EVERY_SECONDS:
                    last_purge = time.monotonic()
                    self.purge_images()
                self.run_once()
                self._deps().kick_webhooks()  # retries due, and passes a crash cut short
            except Exception:  # Redis or the broker away: try again next interval
                log.warning("sweep failed", exc_info=True)
