"""The operator API under /v1/admin (DESIGN "Operators"): keys on plans, credits, reroll,
revoke, usage. Behind `Authorization: Bearer <ADMIN_TOKEN>`, compared in constant time; without
ADMIN_TOKEN every route here answers 404, as if it did not exist."""

from __future__ import annotations

import hmac
from collections.abc import Callable
from typing import Annotated, Any

import msgspec
from litestar import Response, Router, delete, get, patch, post
from litestar.connection import ASGIConnection
from litestar.di import NamedDependency
from litestar.exceptions import NotFoundException
from litestar.handlers.base import BaseRouteHandler
from litestar.params import (
    FromQuery,
    JSONBody,
    PathParameter,
    QueryParameter,
    SkipValidation,
)

from domain.errors import Unauthenticated
from domain.operator_service import OperatorService
from domain.operators import UNSET
from domain.ports import Clock
from entrypoints.http.admin_schemas import (
    EXTERNAL_ID_FILTER,
    BucketsOut,
    CreditsBody,
    KeyCreateBody,
    KeyIssuedOut,
    KeyOut,
    KeyPage,
    KeyPatchBody,
    RemainingOut,
    RerollBody,
    RerolledOut,
    UsageOut,
    key_issued_out,
    key_out,
    whole,
)
from entrypoints.http.examples import (
    CREDITS_EXAMPLE,
    KEY_CREATE_EXAMPLE,
    KEY_PATCH_EXAMPLE,
    KEY_VIEW_EXAMPLE,
    LEDGER_EXAMPLE,
    REROLL_EXAMPLE,
)
from entrypoints.http.guards import require_json, strict_body
from entrypoints.http.openapi_docs import ADMIN_SCHEME, documented
from entrypoints.http.usage import USAGE_QUERY, Limit, UsageQuery, usage_answer

NO_STORE = {"Cache-Control": "no-store"}
READ_ERRORS = (404, 422, 503)
WRITE_ERRORS = (400, 404, 413, 415, 422, 503)
ISSUED_EXAMPLE = {**KEY_VIEW_EXAMPLE, "key": "ig_EXAMPLEnotarealkey000000000000"}


def _docs(errors: tuple[int, ...], example: object = None, sent: object = None) -> dict[str, Any]:
    """Operator routes: the operator's token, problem JSON errors, an answer and a body sent."""
    return documented(auth=(ADMIN_SCHEME,), errors=errors, example=example, request_example=sent)


def admin_only(
    admin_token: str | None,
) -> Callable[[ASGIConnection[Any, Any, Any, Any], BaseRouteHandler], None]:
    """A guard, so nothing is read before it passes: 404 without ADMIN_TOKEN; 401 for a
    missing or wrong token (a caller's key included)."""

    def guard(connection: ASGIConnection[Any, Any, Any, Any], _: BaseRouteHandler) -> None:
        if not admin_token:
            raise NotFoundException()
        scheme, _sep, token = connection.headers.get("authorization", "").partition(" ")
        given = token.strip().encode() if scheme.lower() == "bearer" else b""
        if not hmac.compare_digest(given, admin_token.encode()):
            raise Unauthenticated("The operator API needs `Authorization: Bearer <ADMIN_TOKEN>`.")

    return guard


Operator = NamedDependency[SkipValidation[OperatorService]]
KeyId = Annotated[str, PathParameter(max_length=100)]
ExternalIdFilter = Annotated[str | None, QueryParameter(pattern=EXTERNAL_ID_FILTER)]


def _unset(value: Any) -> Any:
    return UNSET if value is msgspec.UNSET else value


@post("/keys", status_code=201, tags=["admin"], guards=[require_json, strict_body(KeyCreateBody)],
      **_docs(WRITE_ERRORS, ISSUED_EXAMPLE, KEY_CREATE_EXAMPLE))  # fmt: skip
async def create_key(
    data: JSONBody[KeyCreateBody],
    operators: Operator,
    clock: NamedDependency[SkipValidation[Clock]],
) -> Response[KeyIssuedOut]:
    """Create a key on a plan; `credits` overrides the plan's starting balance. The raw `key`
    is shown only in this answer. Operator-issued keys do not count against the mint limits."""
    issued, view = await operators.create_key(
        data.plan, name=data.name, external_id=data.external_id, meta=data.meta,
        expires_at=data.expires_at, credits=whole(data.credits),
    )  # fmt: skip
    answer = key_issued_out(issued.key, view, clock.now())
    return Response(answer, status_code=201, headers=NO_STORE)


@get("/keys", tags=["admin"],
     **_docs(READ_ERRORS, {"data": [KEY_VIEW_EXAMPLE], "next_cursor": None}))  # fmt: skip
async def list_keys(
    operators: Operator,
    clock: NamedDependency[SkipValidation[Clock]],
    plan: FromQuery[str | None] = None,
    external_id: ExternalIdFilter = None,
    cursor: FromQuery[str | None] = None,
    limit: Limit = 50,
) -> Response[KeyPage]:
    """Keys, oldest first, filtered by `plan` and `external_id`; pass `next_cursor` back as
    `cursor` for the next page."""
    # An empty parameter is an absent one: no filter, the first page.
    views, next_cursor = await operators.list_keys(
        plan=plan or None, external_id=external_id or None, cursor=cursor or None, limit=limit
    )
    now = clock.now()
    return Response(KeyPage([key_out(v, now) for v in views], next_cursor), headers=NO_STORE)


@get("/keys/{key_id:str}", tags=["admin"], **_docs(READ_ERRORS, KEY_VIEW_EXAMPLE))
async def show_key(
    key_id: KeyId, operators: Operator, clock: NamedDependency[SkipValidation[Clock]]
) -> Response[KeyOut]:
    """A key's view: plan, settings, credits and `start`; never the raw key."""
    view = await operators.show_key(key_id)
    return Response(key_out(view, clock.now()), headers=NO_STORE)


@patch("/keys/{key_id:str}", tags=["admin"], guards=[require_json, strict_body(KeyPatchBody)],
       **_docs(WRITE_ERRORS, KEY_VIEW_EXAMPLE, KEY_PATCH_EXAMPLE))  # fmt: skip
async def patch_key(
    key_id: KeyId,
    data: JSONBody[KeyPatchBody],
    operators: Operator,
    clock: NamedDependency[SkipValidation[Clock]],
) -> Response[KeyOut]:
    """Change `plan`, `name`, `meta`, `enabled` or `expires_at` (null clears it). A plan change
    keeps the balance and applies the new plan's refill from now on."""
    view = await operators.patch_key(
        key_id, plan=_unset(data.plan), name=_unset(data.name), meta=_unset(data.meta),
        enabled=_unset(data.enabled), expires_at=_unset(data.expires_at),
    )  # fmt: skip
    return Response(key_out(view, clock.now()), headers=NO_STORE)


@post("/keys/{key_id:str}/credits", status_code=200, tags=["admin"],
      guards=[require_json, strict_body(CreditsBody)],
      **_docs(WRITE_ERRORS, {"remaining": 500}, CREDITS_EXAMPLE))  # fmt: skip
async def change_credits(
    key_id: KeyId, data: JSONBody[CreditsBody], operators: Operator
) -> Response[RemainingOut]:
    """Set, increment or decrement (clamped at 0) the balance; each change is a ledger entry."""
    value = int(data.value)
    change = await operators.change_credits(key_id, data.operation, value, reason=data.reason)
    return Response(RemainingOut(change.after), headers=NO_STORE)


@post("/keys/{key_id:str}/reroll", status_code=201, tags=["admin"],
      guards=[require_json, strict_body(RerollBody)],
      **_docs(WRITE_ERRORS, {"key": "ig_EXAMPLEnotarealkey000000000000",
                             "key_id": "key_7d1e0b"}, REROLL_EXAMPLE))  # fmt: skip
async def reroll_key(
    key_id: KeyId, data: JSONBody[RerollBody], operators: Operator
) -> Response[RerolledOut]:
    """A new key (new `key_id`) with the same plan, settings and balance; the old key stops
    working after `grace_seconds`."""
    issued = await operators.reroll_key(key_id, int(data.grace_seconds))
    return Response(RerolledOut(issued.key, issued.key_id), status_code=201, headers=NO_STORE)


@delete("/keys/{key_id:str}", status_code=204, tags=["admin"], **_docs(READ_ERRORS))
async def revoke_key(key_id: KeyId, operators: Operator) -> None:
    """Revoke a key: it stops working at once."""
    await operators.revoke_key(key_id)


@get(
    "/keys/{key_id:str}/usage",
    tags=["admin"],
    dependencies=USAGE_QUERY,
    **_docs(READ_ERRORS, LEDGER_EXAMPLE),
)
async def key_usage(
    key_id: KeyId, operators: Operator, usage_query: NamedDependency[UsageQuery]
) -> Response[UsageOut | BucketsOut]:
    """That key's credit ledger, as `GET /v1/me/usage` answers it."""
    answer = await usage_answer(operators, key_id, usage_query, check_key=True)
    return Response(answer, headers=NO_STORE)


def router(admin_token: str | None) -> Router:
    """The operator API under `/v1/admin`, behind the deployment's ADMIN_TOKEN."""
    return Router(
        "/v1/admin",
        route_handlers=[create_key, list_keys, show_key, patch_key, change_credits, reroll_key,
                        revoke_key, key_usage],
        guards=[admin_only(admin_token)],
    )  # fmt: skip
