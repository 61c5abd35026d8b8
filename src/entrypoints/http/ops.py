"""Liveness and readiness."""

from __future__ import annotations

import asyncio

from litestar import Response, get
from litestar.openapi.datastructures import ResponseSpec

from entrypoints.bootstrap import ApiContainer

READY_TIMEOUT_SECONDS = 3.0


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
async def readyz(container: ApiContainer) -> Response[dict[str, object]]:
    """Readiness: Redis (jobs and quota) and the broker answer."""
    checks: dict[str, str] = {}
    for name, probe in (("redis", container.jobs.ping), ("broker", container.queue.ping)):
        try:
            await asyncio.wait_for(probe(), READY_TIMEOUT_SECONDS)
            checks[name] = "ok"
        except Exception as exc:
            checks[name] = f"unavailable: {type(exc).__name__}"
    ready = all(value == "ok" for value in checks.values())
    body: dict[str, object] = {"status": "ready" if ready else "unready", "checks": checks}
    return Response(body, status_code=200 if ready else 503)
