"""The Litestar application factory."""

from __future__ import annotations

import logging
from collections.abc import Callable

from litestar import Litestar
from litestar.datastructures import State
from litestar.di import Provide
from litestar.openapi import OpenAPIConfig

from entrypoints.bootstrap import ApiContainer, build_api
from entrypoints.http import jobs, keys, ops, playground
from entrypoints.http.deps import provide_caller, provide_container
from entrypoints.http.observability import RequestObservability, echo_request_id
from entrypoints.http.observability import metrics as metrics_route
from entrypoints.http.problems import EXCEPTION_HANDLERS
from entrypoints.settings import Settings

log = logging.getLogger("imagegate.api")


def create_app(
    settings: Settings,
    *,
    container_factory: Callable[[Settings], ApiContainer] = build_api,
) -> Litestar:
    """Build the API. The container is built on startup, inside the server's event loop."""

    async def start(app: Litestar) -> None:
        app.state.container = container_factory(settings)
        log.info(settings.describe())

    async def stop(app: Litestar) -> None:
        container: ApiContainer | None = getattr(app.state, "container", None)
        if container is not None:
            await container.aclose()

    return Litestar(
        route_handlers=[
            keys.create_key,
            keys.authorize,
            keys.me,
            keys.revoke,
            jobs.create_generation,
            jobs.generate_image_seed,
            jobs.generate_image_seed_hyphen,
            jobs.read_job,
            jobs.read_jobs,
            jobs.cancel,
            jobs.read_image,
            ops.healthz,
            ops.readyz,
            metrics_route,
            *playground.ROUTES,
        ],
        middleware=[RequestObservability()],
        before_send=[echo_request_id],
        dependencies={
            "container": Provide(provide_container, sync_to_thread=False),
            "caller": Provide(provide_caller),
        },
        exception_handlers=EXCEPTION_HANDLERS,  # type: ignore[arg-type]
        on_startup=[start],
        on_shutdown=[stop],
        state=State({}),
        openapi_config=OpenAPIConfig(
            title="imagegate",
            version="0.1.0",
            description="Quota-limited generative-image API: submit a job, poll for the result.",
            path="/schema",
            render_plugins=playground.docs_ui_plugins(),
        ),
        request_max_body_size=1_048_576,
        debug=False,
        logging_config=None,  # the CLI configures logging (JSON or text)
    )
