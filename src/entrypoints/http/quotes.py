"""Quotes: what a generation would cost the caller, without spending anything."""

from __future__ import annotations

import msgspec
from litestar import Response, post
from litestar.di import NamedDependency
from litestar.params import JSONBody

from domain.models import ImageRequest, OutputFormat, Quality
from domain.quotes import QuoteJob
from entrypoints.http.auth import AnyRequest, require_credential
from entrypoints.http.examples import REQUEST_EXAMPLE
from entrypoints.http.guards import require_json, strict_body
from entrypoints.http.openapi_docs import documented
from entrypoints.http.schemas import GenerationBody


class QuoteOut(msgspec.Struct):
    credits: int  # what a submit of this body is charged (and a refund gives back)
    remaining: int | None  # the caller's balance now
    affordable: bool


def image_request_of(data: GenerationBody, default_model: str) -> ImageRequest:
    """The body as the domain's request, its model resolved (pricing may depend on it)."""
    return ImageRequest(
        prompt=data.prompt,
        n=int(data.n),  # a whole number: 2.0 is 2 (JSON Schema says so), 2.5 was refused
        size=data.size,
        quality=Quality(data.quality),
        output_format=OutputFormat(data.output_format),
        model=data.model or default_model,
    )


@post(
    "/v1/quotes",
    status_code=200,
    tags=["images"],
    guards=[require_json, strict_body(GenerationBody)],
    **documented(
        auth=True,
        errors=(400, 403, 413, 415, 422, 503),
        example={"credits": 12, "remaining": 88, "affordable": True},
        request_example=REQUEST_EXAMPLE,
    ),
)
async def create_quote(
    request: AnyRequest,
    data: JSONBody[GenerationBody],
    quote_job: NamedDependency[QuoteJob],
    default_model: NamedDependency[str],
) -> Response[QuoteOut]:
    """Price a generation body as `POST /v1/images/generations` would charge it: `credits`,
    the caller's `remaining` balance and whether it is `affordable`. Spends nothing."""
    quote = await quote_job(require_credential(request).key, image_request_of(data, default_model))
    return Response(
        QuoteOut(credits=quote.credits, remaining=quote.remaining, affordable=quote.affordable),
        headers={"Cache-Control": "no-store"},
    )
