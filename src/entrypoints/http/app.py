"""The Litestar application factory."""

from __future__ import annotations

import logging

from litestar import Litestar
from litestar.datastructures import State
from litestar.openapi import OpenAPIConfig

from adapters.clock import SystemClock
from adapters.prometheus_metrics import Metrics
from domain.ports import Clock
from entrypoints.bootstrap import ApiContainer, ContainerFactory, build_api
from entrypoints.http import (
    admin,
    images,
    job_stream,
    jobs,
    keys,
    openapi_docs,
    ops,
    playground,
    quotes,
    seed,
    usage,
    webhooks,
)
from entrypoints.http.allow import point_options_at_their_routes
from entrypoints.http.auth import TRUSTED_PROXIES_STATE, KeyCookies
from entrypoints.http.client_address import parse_networks
from entrypoints.http.deps import QUOTA_HEADERS_STATE, dependencies
from entrypoints.http.observability import RequestIdEcho, RequestObservability
from entrypoints.http.observability import metrics as metrics_route
from entrypoints.http.problems import exception_handlers
from entrypoints.http.quota_headers import QuotaHeaders
from entrypoints.http.route_uses import ReleaseKeySlots
from entrypoints.http.security_headers import add_security_headers
from entrypoints.settings import Settings

log = logging.getLogger("imagegate.api")


def create_app(
    settings: Settings,
    *,
    container_factory: ContainerFactory = build_api,
    clock: Clock | None = None,
    metrics: Metrics | None = None,
) -> Litestar:
    """Build the API. The container (the use cases and the clients under them) is built on
    startup, inside the server's event loop; tests pass a `container_factory` of fakes."""
    clock = clock or SystemClock()
    metrics = metrics or Metrics()
    quota_headers = QuotaHeaders(settings.plan.refill, clock)

    async def start(app: Litestar) -> None:
        app.state.container = container_factory(settings, clock=clock, metrics=metrics)
        await app.state.container.astart()
        log.info(settings.describe())

    def describe_deployment(app: Litestar) -> None:
        openapi_docs.tailor(
            app.openapi_schema,
            image_model=settings.image_model,
            plans=settings.catalog.plans,
            numeric_cursors=settings.quota_provider == "local",
        )

    async def stop(app: Litestar) -> None:
        container: ApiContainer | None = getattr(app.state, "container", None)
        if container is not None:
            await container.aclose()

    app = Litestar(
        route_handlers=[
            keys.create_key,
            keys.authorize,
            keys.me,
            keys.revoke,
            jobs.create_generation,
            seed.generate_image_seed,
            seed.generate_image_seed_hyphen,
            jobs.read_job,
            jobs.read_jobs,
            jobs.cancel,
            images.read_image,
            quotes.create_quote,
            usage.my_usage,
            admin.router(settings.admin_token),
            job_stream.job_event_stream,
            ops.healthz,
            ops.readyz,
            metrics_route,
            *playground.ROUTES,
            *webhooks.ROUTES,
        ],
        middleware=[RequestObservability(metrics), ReleaseKeySlots()],
        before_send=[RequestIdEcho(metrics), add_security_headers],
        dependencies=dependencies(
            clock=clock,
            metrics=metrics,
            quota_headers=quota_headers,
            key_cookies=KeyCookies(secure=settings.cookie_secure),
            sync_wait_seconds=settings.sync_wait_seconds,
            default_model=settings.image_model,
        ),
        exception_handlers=exception_handlers(quota_headers),
        on_startup=[start, describe_deployment],
        on_shutdown=[stop],
        state=State(
            {
                TRUSTED_PROXIES_STATE: parse_networks(settings.trusted_proxies),
                QUOTA_HEADERS_STATE: quota_headers,  # for the poll, which takes no dependencies
            }
        ),
        openapi_config=OpenAPIConfig(
            title="imagegate",
            version="0.1.0",
            description="Quota-limited generative-image API: submit a job, poll for the result.",
            path="/schema",
            components=openapi_docs.components(),
            use_handler_docstrings=True,  # each handler's docstring is its description
            render_plugins=playground.docs_ui_plugins(),
        ),
        request_max_body_size=1_048_576,
        debug=False,
        logging_config=None,  # the CLI configures logging (JSON or text)
    )
    point_options_at_their_routes(app)
    return app
