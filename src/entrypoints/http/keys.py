"""Keys: mint (and the seed's /authorize), describe (/me), revoke."""

from __future__ import annotations

from litestar import Response, delete, get, post
from litestar.di import NamedDependency
from litestar.params import SkipValidation
from litestar.response import Redirect

from domain import credits
from domain.api_keys import DescribeKey, MintKey, RevokeKey
from domain.ports import Clock
from entrypoints.http.auth import AnyRequest, KeyCookies, require_credential, same_origin_only
from entrypoints.http.guards import MintLimit
from entrypoints.http.openapi_docs import documented
from entrypoints.http.quota_headers import quota_headers
from entrypoints.http.schemas import KeyCreated, MeOut, me_out

NO_STORE = {"Cache-Control": "no-store"}


MINTED_EXAMPLE = {"key": "ig_live_EXAMPLEnotarealkey000000", "key_id": "key_9f2c1a", "credits": 100}


def _minting(path: str, status: int, tag: str, *headers: str, example: object = None) -> post:
    """A route that mints a key into the cookie (so it answers `Set-Cookie` and no-store): no
    key needed, and same-origin only — a foreign page may not set a key cookie on its visitor
    (login CSRF). Its handler checks the per-address mint limit before minting."""
    sent = (*headers, "Set-Cookie", "Cache-Control")
    return post(
        path,
        status_code=status,
        tags=[tag],
        guards=[same_origin_only],
        **documented(auth=False, errors=(403, 429, 503), headers={status: sent}, example=example),
    )


@_minting("/v1/keys", 201, "keys", example=MINTED_EXAMPLE)
async def create_key(
    request: AnyRequest,
    mint_key: NamedDependency[MintKey],
    mint_limit: NamedDependency[MintLimit],
    key_cookies: NamedDependency[KeyCookies],
) -> Response[KeyCreated]:
    """Mint a key on the configured plan. The key is shown only in this response; it is also
    set as an HttpOnly cookie for browser use. Minting is rate limited per client address."""
    await mint_limit.check(request)
    issued = await mint_key()
    return Response(
        KeyCreated(key=issued.key, key_id=issued.key_id, credits=issued.credits),
        status_code=201,
        headers=NO_STORE,
        cookies=[key_cookies.holding(issued.key)],
    )


@_minting("/authorize", 303, "seed", "Location")
async def authorize(
    request: AnyRequest,
    mint_key: NamedDependency[MintKey],
    mint_limit: NamedDependency[MintLimit],
    key_cookies: NamedDependency[KeyCookies],
) -> Redirect:
    """Seed alias: mint a key into the HttpOnly cookie and redirect to `/me`."""
    await mint_limit.check(request)
    issued = await mint_key()
    return Redirect(
        "/me", status_code=303, headers=NO_STORE, cookies=[key_cookies.holding(issued.key)]
    )


@get(
    ["/v1/me", "/me"],
    tags=["keys"],
    **documented(
        auth=True,
        errors=(400, 429, 503),
        headers={200: ("RateLimit", "RateLimit-Policy", "Cache-Control")},
        example={
            "key_id": "key_9f2c1a",
            "start": "ig_live_EXA",
            "credits": {
                "remaining": 99,
                "refill": {"interval": "monthly", "amount": 100, "refill_day": 1},
                "next_refill_at": "2027-01-01T00:00:00Z",
            },
        },
    ),
)
async def me(
    request: AnyRequest,
    describe_key: NamedDependency[DescribeKey],
    clock: NamedDependency[SkipValidation[Clock]],
) -> Response[MeOut]:
    """The caller's key: id, first characters, credits and refill. Spends nothing."""
    info = await describe_key(require_credential(request).key)
    now = clock.now()
    return Response(
        me_out(info, credits.next_refill_at(info.refill, now)),
        headers={**quota_headers(info.remaining, info.refill, now), "Cache-Control": "private"},
    )


@delete(
    "/v1/me",
    status_code=204,
    tags=["keys"],
    guards=[same_origin_only],
    **documented(auth=True, errors=(400, 403, 429, 503), headers={204: ("Set-Cookie",)}),
)
async def revoke(
    request: AnyRequest,
    revoke_key: NamedDependency[RevokeKey],
    key_cookies: NamedDependency[KeyCookies],
) -> None:
    """Revoke the caller's key and clear the cookie."""
    await revoke_key(require_credential(request).key)
    # Annotated `None` so the OpenAPI document says 204 has no body; the Response is only
    # here to clear the cookie.
    return Response(None, status_code=204, cookies=[key_cookies.cleared()])  # type: ignore[return-value]
