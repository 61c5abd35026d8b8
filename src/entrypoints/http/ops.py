"""Liveness and readiness."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Mapping

from litestar import Response, get
from litestar.openapi.datastructures import ResponseSpec

READY_TIMEOUT_SECONDS = 3.0
Probe = Callable[[], Awaitable[None]]  # raises when the thing it checks is down


@get("/healthz", tags=["ops"])
async def healthz() -> dict[str, str]:
    """Liveness: the process answers."""
    return {"status": "ok"}


@get(
    "/readyz",
    tags=["ops"],
    responses={
        503: ResponseSpec(
            data_container=dict[str, str | dict[str, str]],
            description="Not ready",
            generate_examples=False,
        )
    },
)
async def readyz(
    probes: Mapping[str, Callable[[], Awaitable[None]]],
) -> Response[dict[str, object]]:
    """Readiness: Redis (jobs and quota) and the broker answer."""
    checks: dict[str, str] = {}
    for name, probe in probes.items():
        try:
            await asyncio.wait_for(probe(), READY_TIMEOUT_SECONDS)
            checks[name] = "ok"
        except Exception as exc:
            checks[name] = f"unavailable: {type(exc).__name__}"
    ready = all(value == "ok" for value in checks.values())
    body: dict[str, object] = {"status": "ready" if ready else "unready", "checks": checks}
    return Response(body, status_code=200 if ready else 503)
