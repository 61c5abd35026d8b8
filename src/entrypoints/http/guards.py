"""Request-level protections: decodable JSON bodies only, and a limit on minting keys."""

from __future__ import annotations

import re
from collections.abc import Awaitable, Callable
from typing import Any, Protocol

import msgspec
from litestar import Request
from litestar.connection import ASGIConnection
from litestar.exceptions import HTTPException, ValidationException
from litestar.handlers.base import BaseRouteHandler

from adapters.redis_rate_limit import Verdict
from domain.errors import RateLimited
from entrypoints.http.auth import AnyRequest
from entrypoints.http.client_address import Network, client_address
from entrypoints.http.problems import MalformedJson

MINT_WINDOW_SECONDS = 3600


async def require_json(connection: ASGIConnection[Any, Any, Any, Any], _: BaseRouteHandler) -> None:
    """A guard: refuse a body that is not JSON (415) or cannot be decoded (400) before anything
    parses it. Decoding it whole here catches what a typed decode may trip over later, or
    not at all: nesting deeper than the interpreter's recursion limit, invalid UTF-8."""
    media_type = connection.headers.get("content-type", "").split(";", 1)[0].strip().lower()
    if media_type != "application/json" and not media_type.endswith("+json"):
        raise HTTPException(
            status_code=415,
            detail="Send the request body as JSON with `Content-Type: application/json`.",
        )
    if isinstance(connection, Request):
        raw = await connection.body()
        if raw and not decodes(raw):
            raise MalformedJson()


def decodes(raw: bytes) -> bool:
    """Whether `raw` is JSON msgspec can decode (nesting is bounded by the recursion limit)."""
    try:
        msgspec.json.decode(raw)
    except (msgspec.DecodeError, RecursionError):
        return False
    return True


class RateLimiter(Protocol):
    """Fixed-window counters shared by every API process (adapters/redis_rate_limit.py)."""

    async def hit(
        self, name: str, limits: list[tuple[str, int]], window_seconds: int
    ) -> Verdict: ...


class MintLimit:
    """At most `per_address` keys per client address and `overall` keys in all per hour,
    counted atomically across every API process. (A plain class: Litestar checks injected
    values against their annotation, and msgspec cannot describe the networks' union.)"""

    def __init__(
        self,
        limiter: RateLimiter,
        *,
        per_address: int,
        overall: int,
        trusted_proxies: tuple[Network, ...] = (),
    ) -> None:
        self.limiter = limiter
        self.per_address = per_address
        self.overall = overall
        self.trusted_proxies = trusted_proxies

    async def check(self, request: AnyRequest) -> None:
        peer = request.client.host if request.client else None
        address = client_address(peer, request.headers.get("x-forwarded-for"), self.trusted_proxies)
        verdict = await self.limiter.hit(
            "mint",
            [(f"addr:{address}", self.per_address), ("all", self.overall)],
            MINT_WINDOW_SECONDS,
        )
        if not verdict.allowed:
            scope = "from your address" if verdict.limit_index == 1 else "on this service"
            raise RateLimited(
                f"Too many keys minted {scope} this hour; try again later.",
                retry_after=verdict.retry_after,
            )


_AT_FIELD = re.compile(r" - at `\$\.([A-Za-z_][A-Za-z0-9_]*)")


def strict_body(
    struct: type[msgspec.Struct],
) -> Callable[[ASGIConnection[Any, Any, Any, Any], BaseRouteHandler], Awaitable[None]]:
    """A guard: the body must decode as `struct` without coercion. Litestar converts bodies
    leniently (`"n": "2"` would become 2); this refuses that with a 422 naming the field before
    the handler (and any charge) runs. Other invalid bodies keep Litestar's own messages."""

    async def guard(connection: ASGIConnection[Any, Any, Any, Any], _: BaseRouteHandler) -> None:
        if not isinstance(connection, Request):
            return
        raw = await connection.body()
        try:
            msgspec.json.decode(raw, type=struct)
        except msgspec.ValidationError as exc:  # (a DecodeError too: test it first)
            if not _lenient_accepts(raw, struct):
                return  # invalid however decoded: Litestar says why, as it always has
            message = str(exc).partition(" - at `")[0]
            match = _AT_FIELD.search(str(exc))
            raise ValidationException(
                detail="Validation failed",
                extra=[{"key": match[1] if match else "body", "message": message}],
            ) from None
        except msgspec.DecodeError:
            return  # no body: Litestar says one is required (a broken one: require_json did)
        except RecursionError:
            raise MalformedJson() from None

    return guard


def _lenient_accepts(raw: bytes, struct: type[msgspec.Struct]) -> bool:
    try:
        msgspec.convert(msgspec.json.decode(raw), type=struct, strict=False)
    except (msgspec.DecodeError, RecursionError):
        return False
    return True
