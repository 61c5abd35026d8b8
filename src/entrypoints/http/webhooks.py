"""Webhooks: the caller's signing secret, a job's delivery log, and redelivery."""

from __future__ import annotations

import msgspec
from litestar import Response, get, post
from litestar.di import NamedDependency
from litestar.params import FromPath

from domain.api_keys import Caller
from domain.webhook_api import GetWebhookSecret, JobWebhooks
from entrypoints.http.examples import DELIVERIES_EXAMPLE
from entrypoints.http.openapi_docs import documented

NO_STORE = {"Cache-Control": "no-store"}


class WebhookSecretOut(msgspec.Struct):
    key: str  # whsec_…: verify deliveries with any Standard Webhooks library


class AttemptOut(msgspec.Struct):
    at: str
    status_code: int | None
    error: str | None
    duration_ms: int


class DeliveryOut(msgspec.Struct):
    id: str  # the webhook-id header of every attempt
    event: str
    delivered_at: str | None
    next_attempt_at: str | None
    attempts: list[AttemptOut]


class DeliveryList(msgspec.Struct):
    data: list[DeliveryOut]


@get(
    "/v1/webhooks/secret",
    tags=["webhooks"],
    **documented(
        auth=True,
        errors=(422, 429, 503),
        headers={200: ("Cache-Control",)},
        example={"key": "whsec_RXhhbXBsZU5vdEFSZWFsU2VjcmV0MDA="},
    ),
)
async def webhook_secret(
    caller: NamedDependency[Caller], webhook_secret: NamedDependency[GetWebhookSecret]
) -> Response[WebhookSecretOut]:
    """The secret that signs this key's webhook deliveries (derived: the same on every call).
    422 `webhooks_disabled` when the server has no WEBHOOK_SIGNING_KEY."""
    return Response(WebhookSecretOut(key=webhook_secret(caller.key_id)), headers=NO_STORE)


@get(
    "/v1/jobs/{job_id:str}/webhooks",
    tags=["webhooks"],
    **documented(auth=True, errors=(404, 429, 503), example=DELIVERIES_EXAMPLE),
)
async def job_webhooks(
    job_id: FromPath[str],
    caller: NamedDependency[Caller],
    job_webhooks: NamedDependency[JobWebhooks],
) -> DeliveryList:
    """The job's webhook deliveries, each with every attempt (time, status or error,
    duration). `next_attempt_at` is null once delivered or given up."""
    found = await job_webhooks.list(job_id, owner=caller.key_id)
    return msgspec.convert({"data": found}, DeliveryList)


@post(
    "/v1/jobs/{job_id:str}/webhooks/{delivery_id:str}/redeliver",
    status_code=202,
    tags=["webhooks"],
    **documented(auth=True, errors=(403, 404, 429, 503)),
)
async def redeliver(
    job_id: FromPath[str],
    delivery_id: FromPath[str],
    caller: NamedDependency[Caller],
    job_webhooks: NamedDependency[JobWebhooks],
) -> None:
    """Send a delivery again: a new round of attempts with the same `webhook-id`."""
    await job_webhooks.redeliver(job_id, delivery_id, owner=caller.key_id)


ROUTES = [webhook_secret, job_webhooks, redeliver]
