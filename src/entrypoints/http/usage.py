"""Usage: the caller's credit ledger (`GET /v1/me/usage`), entries newest first or day buckets.
The operator's twin, `GET /v1/admin/keys/{key_id}/usage`, answers through `usage_answer`."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from typing import Annotated, Literal

from litestar import Response, get
from litestar.di import NamedDependency, Provide
from litestar.params import QueryParameter

from adapters.redis_ledger import STREAM_ID_PATTERN
from domain.api_keys import Caller
from domain.operator_service import OperatorService
from entrypoints.http.admin_schemas import BucketsOut, UsageOut, buckets_out, usage_out
from entrypoints.http.examples import LEDGER_EXAMPLE
from entrypoints.http.openapi_docs import documented

Bucket = Annotated[Literal["day"] | None, QueryParameter(description="`day`: totals per UTC day")]
From = Annotated[
    date | None, QueryParameter(name="from", description="first day (UTC), with bucket")
]
To = Annotated[date | None, QueryParameter(name="to", description="last day (UTC), with bucket")]
Limit = Annotated[int, QueryParameter(ge=1, le=100)]
Cursor = Annotated[
    str | None,
    QueryParameter(
        pattern=STREAM_ID_PATTERN, description="The `next_cursor` of the previous page."
    ),
]
USAGE_DOCS = documented(auth=True, errors=(422, 429, 503), example=LEDGER_EXAMPLE)


@dataclass(frozen=True, slots=True)
class UsageQuery:
    """What both usage routes are asked: a page of entries, or day buckets from `first` to
    `last`."""

    bucket: str | None
    first: date | None
    last: date | None
    cursor: str | None
    limit: int


def read_usage_query(
    bucket: Bucket = None,
    from_: From = None,
    to: To = None,
    cursor: Cursor = None,
    limit: Limit = 50,
) -> UsageQuery:
    """The usage routes' query parameters, declared once (a dependency of both routes)."""
    # An empty cursor is the first page, as an absent one is.
    return UsageQuery(bucket, from_, to, cursor or None, limit)


USAGE_QUERY = {"usage_query": Provide(read_usage_query, sync_to_thread=False)}


async def usage_answer(
    operators: OperatorService, key_id: str, query: UsageQuery, *, check_key: bool
) -> UsageOut | BucketsOut:
    if query.bucket == "day":
        days = await operators.usage_by_day(
            key_id, first=query.first, last=query.last, check_key=check_key
        )
        return buckets_out(days)
    page = await operators.usage(
        key_id, cursor=query.cursor, limit=query.limit, check_key=check_key
    )
    return usage_out(page)


@get("/v1/me/usage", tags=["keys"], dependencies=USAGE_QUERY, **USAGE_DOCS)
async def my_usage(
    caller: NamedDependency[Caller],
    operators: NamedDependency[OperatorService],
    usage_query: NamedDependency[UsageQuery],
) -> Response[UsageOut | BucketsOut]:
    """The caller's credit ledger: `{data: [entry…] newest first, next_cursor, totals}`; with
    `bucket=day`, `{buckets: [{date, charged, refunded}]}` from `from` to `to` (default: the
    last 30 days). Pass `next_cursor` back as `cursor` for the next page."""
    answer = await usage_answer(operators, caller.key_id, usage_query, check_key=False)
    return Response(answer, headers={"Cache-Control": "private, no-cache"})
