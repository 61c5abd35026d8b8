"""Request ids, access logs and HTTP metrics at the edge, and the `/metrics` route.

- `RequestObservability` (middleware, matched routes): accepts a safe `X-Request-ID` or makes
  one, binds it for the request's log lines, times the request and counts it by route template.
- `RequestIdEcho` (before-send hook, every response, 404/405 without a route included): puts
  the id on the response, and counts the requests no route matched.
"""

from __future__ import annotations

import asyncio
import logging
import time
from typing import Any

from litestar import Response, get
from litestar.datastructures import MutableScopeHeaders
from litestar.di import NamedDependency
from litestar.enums import ScopeType
from litestar.middleware import ASGIMiddleware
from litestar.types import ASGIApp, Message, Receive, Scope, Send
from prometheus_client import CONTENT_TYPE_LATEST

from adapters.prometheus_metrics import UNMATCHED_ROUTE, Metrics
from entrypoints.http.auth import AnyRequest
from entrypoints.log_context import REQUEST_ID_HEADER, accept_request_id, bound

log = logging.getLogger("imagegate.http.access")

_STATE_KEY = "imagegate_request_id"
_SUBMISSION_KEY = "imagegate_submission"
# A submit route's refusal, by status, when its handler recorded no outcome (a guard or the
# body decoder refused it, or a use case raised). Replays and synchronous job failures are
# answered after `record_accepted` or without a submission: they are not counted again.
_SUBMISSION_BY_STATUS = {
    400: "invalid",
    413: "invalid",
    415: "invalid",
    422: "invalid",
    429: "quota_exceeded",
    503: "unavailable",
}
# The `opt` a route handler sets to have its answers counted in imagegate_jobs_submitted.
COUNTS_SUBMISSIONS = {"counts_submissions": True}
_QUIET_ROUTES = frozenset({"/healthz", "/readyz", "/metrics"})  # probes and scrapes: DEBUG
# Polls: clients repeat them every second or so. Answered ones log at DEBUG (the metrics count
# them); a line each would cost more CPU than the poll's own Redis call.
_QUIET_READS = frozenset({"/v1/jobs/{job_id}", "/v1/jobs/{job_id}/events"})


def _header(scope: Scope, name: bytes) -> str | None:
    for key, value in scope.get("headers", ()):
        if key == name:
            return bytes(value).decode("latin-1")
    return None


def _request_id(scope: Scope) -> str:
    """The request's id, decided once per request and kept in the scope's state."""
    state: dict[str, Any] = scope.setdefault("state", {})
    request_id = state.get(_STATE_KEY)
    if request_id is None:
        request_id = accept_request_id(_header(scope, REQUEST_ID_HEADER.encode()))
        state[_STATE_KEY] = request_id
    return str(request_id)


def record_accepted(request: AnyRequest) -> None:
    """For submit handlers: this request's job was accepted (whatever the answer's status)."""
    request.scope.setdefault("state", {})[_SUBMISSION_KEY] = "accepted"


def _count_submission(metrics: Metrics, scope: Scope, status: int) -> None:
    handler = scope.get("route_handler")
    if handler is None or not handler.opt.get("counts_submissions"):
        return
    outcome = scope.get("state", {}).get(_SUBMISSION_KEY) or _SUBMISSION_BY_STATUS.get(status)
    if outcome is not None:
        metrics.job_submitted(outcome)


def request_id_of(request: AnyRequest) -> str:
    """For handlers: the id to store on a job created by this request."""
    return _request_id(request.scope)


class RequestObservability(ASGIMiddleware):
    scopes = (ScopeType.HTTP,)

    def __init__(self, metrics: Metrics) -> None:
        self._metrics = metrics

    async def handle(self, scope: Scope, receive: Receive, send: Send, next_app: ASGIApp) -> None:
        request_id = _request_id(scope)
        started = time.perf_counter()
        status = 500  # what the client sees if the app dies before answering

        async def observed_send(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
            await send(message)

        with bound(request_id=request_id):
            try:
                await next_app(scope, receive, observed_send)
            finally:
                elapsed = time.perf_counter() - started
                route = scope.get("path_template") or UNMATCHED_ROUTE
                method = str(scope.get("method", "GET"))
                self._metrics.observe_http(method, route, status, elapsed)
                _count_submission(self._metrics, scope, status)
                quiet = route in _QUIET_ROUTES or (
                    route in _QUIET_READS and method == "GET" and status < 400
                )
                log.log(
                    logging.DEBUG if quiet else logging.INFO,
                    "%s %s %s",
                    method,
                    scope.get("path", ""),
                    status,
                    extra={
                        "route": route,
                        "status": status,
                        "duration_ms": round(elapsed * 1000, 1),
                    },
                )


class RequestIdEcho:
    """Before-send hook: every HTTP response carries the request's `X-Request-ID`."""

    def __init__(self, metrics: Metrics) -> None:
        self._metrics = metrics

    async def __call__(self, message: Message, scope: Scope) -> None:
        if scope["type"] != ScopeType.HTTP or message["type"] != "http.response.start":
            return
        headers = MutableScopeHeaders.from_message(message)
        request_id = _request_id(scope)
        headers[REQUEST_ID_HEADER] = request_id
        if "route_handler" not in scope:
            # No route matched (404/405): the middleware never saw it, count it here (no timing).
            method = str(scope.get("method", "GET"))
            self._metrics.observe_http(method, UNMATCHED_ROUTE, message["status"], None)
            with bound(request_id=request_id):
                log.info("%s %s %s", method, scope.get("path"), message["status"])


@get("/metrics", include_in_schema=False, tags=["ops"])
async def metrics(metrics: NamedDependency[Metrics]) -> Response[bytes]:
    """Prometheus text exposition of this API process's series."""
    body = await asyncio.to_thread(metrics.render)  # the queue probe does I/O
    return Response(body, media_type=CONTENT_TYPE_LATEST, headers={"Cache-Control": "no-store"})
