"""Request-level protections: JSON bodies only, and a limit on minting keys."""

from __future__ import annotations

from typing import Any

from litestar.connection import ASGIConnection
from litestar.exceptions import HTTPException
from litestar.handlers.base import BaseRouteHandler

from domain.errors import RateLimited
from entrypoints.bootstrap import ApiContainer
from entrypoints.http.auth import AnyRequest
from entrypoints.http.client_address import client_address, parse_networks

MINT_WINDOW_SECONDS = 3600


def require_json(connection: ASGIConnection[Any, Any, Any, Any], _: BaseRouteHandler) -> None:
    """A guard: refuse a body that is not JSON before anything parses it (415)."""
    media_type = connection.headers.get("content-type", "").split(";", 1)[0].strip().lower()
    if media_type != "application/json" and not media_type.endswith("+json"):
        raise HTTPException(
            status_code=415,
            detail="Send the request body as JSON with `Content-Type: application/json`.",
        )


async def enforce_mint_limit(request: AnyRequest, container: ApiContainer) -> None:
    """At most MINT_LIMIT_PER_ADDRESS keys per client address and MINT_LIMIT_GLOBAL keys in all
    per hour, counted atomically in Redis across every API process."""
    settings = container.settings
    peer = request.client.host if request.client else None
    address = client_address(
        peer, request.headers.get("x-forwarded-for"), parse_networks(settings.trusted_proxies)
    )
    verdict = await container.rate_limiter.hit(
        "mint",
        [(f"addr:{address}", settings.mint_limit_per_address), ("all", settings.mint_limit_global)],
        MINT_WINDOW_SECONDS,
    )
    if not verdict.allowed:
        scope = "from your address" if verdict.limit_index == 1 else "on this service"
        raise RateLimited(
            f"Too many keys minted {scope} this hour; try again later.",
            retry_after=verdict.retry_after,
        )
