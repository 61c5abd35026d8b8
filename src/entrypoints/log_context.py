"""Request and job ids that follow a request into every log line, in the API and the worker.

The HTTP edge binds the request id; the worker binds the job id and the request id stored on
the job. A logging filter copies whatever is bound onto each record, so the JSON formatter
prints it without every call site passing `extra=`.
"""

from __future__ import annotations

import logging
import re
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar

REQUEST_ID_HEADER = "x-request-id"
# Short and safe to echo, log and store: no spaces, quotes, control characters or CRLF.
_REQUEST_ID = re.compile(r"[A-Za-z0-9][A-Za-z0-9._:+/=-]{0,63}", re.ASCII)  # used whole

request_id_var: ContextVar[str | None] = ContextVar("imagegate_request_id", default=None)
job_id_var: ContextVar[str | None] = ContextVar("imagegate_job_id", default=None)


def new_request_id() -> str:
    return uuid.uuid4().hex


def accept_request_id(raw: str | None) -> str:
    """The caller's X-Request-ID when it is short and safe, else a fresh one."""
    if raw and _REQUEST_ID.fullmatch(raw):
        return raw
    return new_request_id()


@contextmanager
def bound(*, request_id: str | None = None, job_id: str | None = None) -> Iterator[None]:
    """Bind ids for the duration of a block (a request, a task)."""
    request_token = request_id_var.set(request_id)
    job_token = job_id_var.set(job_id)
    try:
        yield
    finally:
        job_id_var.reset(job_token)
        request_id_var.reset(request_token)


def bind(*, request_id: str | None, job_id: str | None) -> None:
    """Bind ids until `clear()`: for hooks that cannot wrap a block (Celery's task signals)."""
    request_id_var.set(request_id)
    job_id_var.set(job_id)


def clear() -> None:
    request_id_var.set(None)
    job_id_var.set(None)


class ContextFilter(logging.Filter):
    """Adds the bound `request_id` and `job_id` to every record that does not carry its own."""

    def filter(self, record: logging.LogRecord) -> bool:
        for name, var in (("request_id", request_id_var), ("job_id", job_id_var)):
            value = var.get()
            if value is not None and not hasattr(record, name):
                setattr(record, name, value)
        return True
