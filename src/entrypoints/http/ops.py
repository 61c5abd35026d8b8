"""Liveness and readiness."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Mapping
from typing import Any

from litestar import Response, get
from litestar.di import NamedDependency

from entrypoints.http.openapi_docs import documented
from entrypoints.http.problems import PROBLEM_JSON
from entrypoints.http.schemas import Problem

READY_TIMEOUT_SECONDS = 3.0
Probe = Callable[[], Awaitable[None]]  # raises when the thing it checks is down


@get("/healthz", tags=["ops"], **documented(auth=False, example={"status": "ok"}))
async def healthz() -> dict[str, str]:
    """Liveness: the process answers."""
    return {"status": "ok"}


@get(
    "/readyz",
    tags=["ops"],
    **documented(auth=False, errors=(503,), example={"status": "ready", "checks": {"jobs": "ok"}}),
)
async def readyz(
    probes: NamedDependency[Mapping[str, Callable[[], Awaitable[None]]]],
) -> Response[Any]:
    """Readiness: Redis (jobs and quota) and the broker answer. When one does not: 503 problem
    JSON whose `checks` member says which."""
    checks: dict[str, str] = {}
    for name, probe in probes.items():
        try:
            await asyncio.wait_for(probe(), READY_TIMEOUT_SECONDS)
            checks[name] = "ok"
        except Exception as exc:
            checks[name] = f"unavailable: {type(exc).__name__}"
    if all(value == "ok" for value in checks.values()):
        return Response({"status": "ready", "checks": checks})
    down = ", ".join(name for name, value in checks.items() if value != "ok")
    problem = Problem.of(503, "unready", f"Not ready: {down}.", checks=checks)
    return Response(problem, status_code=503, media_type=PROBLEM_JSON, headers={"Retry-After": "2"})
