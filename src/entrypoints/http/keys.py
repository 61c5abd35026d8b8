"""Keys: mint (and the seed's /authorize), describe (/me), revoke."""

from __future__ import annotations

from litestar import Response, delete, get, post
from litestar.response import Redirect

from domain import credits
from domain.services import describe_key, mint_key, revoke_key
from entrypoints.bootstrap import ApiContainer
from entrypoints.http.auth import AnyRequest, clear_key_cookie, key_cookie, require_credential
from entrypoints.http.guards import enforce_mint_limit
from entrypoints.http.problems import problem_responses
from entrypoints.http.quota_headers import quota_headers
from entrypoints.http.schemas import KeyCreated, MeOut, me_out

NO_STORE = {"Cache-Control": "no-store"}


@post("/v1/keys", status_code=201, tags=["keys"], responses=problem_responses(429, 503))
async def create_key(request: AnyRequest, container: ApiContainer) -> Response[KeyCreated]:
    """Mint a key on the configured plan. The key is shown only in this response; it is also
    set as an HttpOnly cookie for browser use. Minting is rate limited per client address."""
    await enforce_mint_limit(request, container)
    issued = await mint_key(container.settings.plan, quota=container.quota)
    return Response(
        KeyCreated(key=issued.key, key_id=issued.key_id, credits=issued.credits),
        status_code=201,
        headers=NO_STORE,
        cookies=[key_cookie(issued.key, secure=container.settings.cookie_secure)],
    )


@post("/authorize", status_code=303, tags=["seed"], responses=problem_responses(429, 503))
async def authorize(request: AnyRequest, container: ApiContainer) -> Redirect:
    """Seed alias: mint a key into the HttpOnly cookie and redirect to `/me`."""
    await enforce_mint_limit(request, container)
    issued = await mint_key(container.settings.plan, quota=container.quota)
    return Redirect(
        "/me",
        status_code=303,
        headers=NO_STORE,
        cookies=[key_cookie(issued.key, secure=container.settings.cookie_secure)],
    )


@get(["/v1/me", "/me"], tags=["keys"], responses=problem_responses(401, 503))
async def me(request: AnyRequest, container: ApiContainer) -> Response[MeOut]:
    """The caller's key: id, first characters, credits and refill. Spends nothing."""
    credential = require_credential(request)
    info = await describe_key(credential.key, quota=container.quota)
    now = container.clock.now()
    refill = info.refill
    return Response(
        me_out(info, credits.next_refill_at(refill, now)),
        headers={**quota_headers(info.remaining, refill, now), "Cache-Control": "private"},
    )


@delete("/v1/me", status_code=204, tags=["keys"], responses=problem_responses(401, 403, 503))
async def revoke(request: AnyRequest, container: ApiContainer) -> None:
    """Revoke the caller's key and clear the cookie."""
    credential = require_credential(request)
    await revoke_key(credential.key, quota=container.quota)
    # Annotated `None` so the OpenAPI document says 204 has no body; the Response is only
    # here to clear the cookie.
    return Response(  # type: ignore[return-value]
        None,
        status_code=204,
        cookies=[clear_key_cookie(secure=container.settings.cookie_secure)],
    )
