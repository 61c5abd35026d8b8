"""What both worker processes (the generation worker, the webhook consumer) do to start: read
the settings, set up the logs, run Celery on their queue; and their dependencies, built once
per process on first use."""

from __future__ import annotations

import logging
import sys
import threading
from collections.abc import Callable
from typing import Generic, TypeVar

from celery import Celery

from entrypoints.celery_app import worker_argv
from entrypoints.logs import setup_logging
from entrypoints.settings import ConfigError, Settings

log = logging.getLogger("imagegate.worker")

T = TypeVar("T")


class BuiltOnce(Generic[T]):
    """A process's dependencies: built by whichever thread asks first (after a prefork fork,
    never before), once, and closed at shutdown if they were ever built."""

    def __init__(self, build: Callable[[], T], close: Callable[[T], None]) -> None:
        self._build = build
        self._close = close
        self._lock = threading.Lock()
        self._built: list[T] = []

    def __call__(self) -> T:
        if not self._built:
            with self._lock:
                if not self._built:
                    self._built.append(self._build())
        return self._built[0]

    def close(self) -> None:
        with self._lock:
            for built in self._built:
                self._close(built)


def run_worker(
    build: Callable[[Settings], Celery],
    *,
    queue: str,
    name: str,
    pool: str | None = None,
    concurrency: int | None = None,
) -> None:
    """One worker process consuming `queue`; its pool and concurrency are the settings' unless
    given. A configuration error ends the process with its message."""
    try:
        settings = Settings.from_env()
    except ConfigError as exc:
        sys.exit(f"imagegate: configuration error: {exc}")
    setup_logging(settings.log_format, settings.log_level)
    quiet_celery_task_lines()
    log.info(settings.describe())
    settings.require_redis()
    build(settings).worker_main(
        worker_argv(
            pool=pool or settings.worker_pool,
            concurrency=concurrency or settings.worker_concurrency,
            queue=queue,
            name=name,
            log_level=settings.log_level,
        )
    )


def quiet_celery_task_lines() -> None:
    """Celery's two INFO lines per task ("Task … received", "… succeeded in …") say what our
    own `job …: <status>` and delivery lines say, with less; they cost ~4 % of a job's worker
    CPU. Celery checks the level once, when it builds the task's tracer and strategy."""
    for name in ("celery.worker.strategy", "celery.app.trace"):
        logger = logging.getLogger(name)
        logger.setLevel(max(logging.WARNING, logger.getEffectiveLevel()))
