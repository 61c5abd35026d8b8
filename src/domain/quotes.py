"""Pricing a request without spending (`POST /v1/quotes`): the same price a submit charges."""

from __future__ import annotations

from dataclasses import dataclass

from domain.api_keys import DescribeKey
from domain.models import ImageRequest
from domain.ports import QuotaProvider
from domain.pricing import FLAT, Pricing
from domain.validation import validate_request


@dataclass(frozen=True, slots=True)
class Quote:
    credits: int
    remaining: int | None  # the balance now; None when the provider does not limit the key
    affordable: bool


@dataclass(frozen=True, slots=True)
class QuoteJob:
    quota: QuotaProvider
    pricing: Pricing = FLAT
    allowed_models: frozenset[str] | None = None

    async def __call__(self, key: str, request: ImageRequest) -> Quote:
        validate_request(request, self.allowed_models)
        cost = self.pricing.job_cost(request)
        info = await DescribeKey(self.quota)(key)
        affordable = info.remaining is None or info.remaining >= cost
        return Quote(credits=cost, remaining=info.remaining, affordable=affordable)
