"""Keeps the leases of the attempts a worker process is running alive, from one thread."""

from __future__ import annotations

import logging
import threading
from collections.abc import Iterator
from contextlib import contextmanager

from domain.ports import Clock, JobTransitions

log = logging.getLogger("imagegate.worker")


RENEW_AT_LEAST_EVERY_SECONDS = 1.0


class ThreadLeaseKeeper:
    """Every `lease_seconds / 3` (at most a second) one thread renews all held leases in one
    Redis call, so a hundred generations in flight cost one round trip, not a hundred timers.
    A renewal also tells which attempts lost their job (canceled, past the deadline, taken
    over): `lost` is how the generation learns to abandon, within about a second."""

    def __init__(self, ledger: JobTransitions, clock: Clock, *, lease_seconds: float) -> None:
        self._ledger = ledger
        self._clock = clock
        self._lease_seconds = lease_seconds
        self._held: set[tuple[str, int]] = set()  # (job id, attempt)
        self._lost: set[tuple[str, int]] = set()
        self._every = min(lease_seconds / 3, RENEW_AT_LEAST_EVERY_SECONDS)
        self._lock = threading.Lock()
        self._wake = threading.Event()
        self._thread: threading.Thread | None = None

    @contextmanager
    def hold(self, job_id: str, attempt: int) -> Iterator[None]:
        with self._lock:
            self._held.add((job_id, attempt))
            if self._thread is None or not self._thread.is_alive():
                self._thread = threading.Thread(
                    target=self._run, name="imagegate-leases", daemon=True
                )
                self._thread.start()
        try:
            yield
        finally:
            with self._lock:
                self._held.discard((job_id, attempt))
                self._lost.discard((job_id, attempt))

    def lost(self, job_id: str, attempt: int) -> bool:
        with self._lock:
            return (job_id, attempt) in self._lost

    def _run(self) -> None:
        while not self._wake.wait(self._every):
            with self._lock:
                held = list(self._held)
            if not held:
                continue
            try:
                lost = self._ledger.renew(held, self._clock.now(), self._lease_seconds)
            except Exception:  # Redis away: try again next tick; the lease has slack
                log.warning("renewing %d leases failed", len(held), exc_info=True)
                continue
            with self._lock:
                self._lost.update(pair for pair in lost if pair in self._held)

    def close(self) -> None:
        """Stop renewing (the worker's shutdown): held leases lapse and the sweeper requeues."""
        self._wake.set()
