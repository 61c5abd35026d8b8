"""What a worker process adds for operators: its own `/metrics` port and log context per task.

Celery signals are process-global, so each handler checks that the sender belongs to *our* app.
The task's arguments stay the job id only: the request id comes from the job record the claim
returns (`bind_claimed`, `RunGeneration.on_claim`), so logging costs no read of its own.
"""

from __future__ import annotations

import logging
from typing import Any

from celery import Celery
from celery.signals import task_postrun, task_prerun, worker_init
from prometheus_client import start_http_server

from adapters.prometheus_metrics import Metrics
from domain.models import Job
from entrypoints import log_context
from entrypoints.celery_app import GENERATE_TASK

log = logging.getLogger("imagegate.worker")


def install_observability(
    app: Celery,
    metrics: Metrics,
    *,
    metrics_port: int = 0,
    metrics_host: str = "127.0.0.1",
) -> None:
    """Serve `metrics` on `metrics_port` once the worker starts (0: not at all), and bind the
    job id around every generation task, for the logs (its request id once it is claimed)."""
    uid = f"imagegate-{id(app)}"

    def serve_metrics(sender: Any = None, **_: Any) -> None:
        if metrics_port and getattr(sender, "app", None) is app:
            try:
                start_http_server(metrics_port, addr=metrics_host, registry=metrics.registry)
            except OSError as exc:  # a second worker on one host: keep working, say so
                log.warning("worker metrics not served on port %s: %s", metrics_port, exc)
                return
            log.info("worker metrics on http://%s:%s/metrics", metrics_host, metrics_port)

    def bind_job(sender: Any = None, args: Any = None, **_: Any) -> None:
        ours = getattr(sender, "app", None) is app
        if not ours or getattr(sender, "name", None) != GENERATE_TASK:
            return
        log_context.bind(request_id=None, job_id=str(args[0]) if args else None)

    def unbind_job(sender: Any = None, **_: Any) -> None:
        if getattr(sender, "app", None) is app:
            log_context.clear()

    worker_init.connect(serve_metrics, weak=False, dispatch_uid=f"{uid}-metrics")
    task_prerun.connect(bind_job, weak=False, dispatch_uid=f"{uid}-bind")
    task_postrun.connect(unbind_job, weak=False, dispatch_uid=f"{uid}-unbind")


def bind_claimed(job: Job) -> None:
    """The claimed job's ids on every later log line of its task (cleared at postrun)."""
    log_context.bind(request_id=job.request_id, job_id=job.id)
