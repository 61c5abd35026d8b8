"""The playground page at `/`, and the docs UI with every asset served by the app itself.

Nothing here comes from another host: the playground is three static files, and Swagger UI's
scripts, styles and favicon come from the `swagger-ui-bundle-v2` package. The other UIs
Litestar offers (Redoc, RapiDoc, Stoplight, Scalar) load from CDNs, so they are switched off.
"""

from __future__ import annotations

from pathlib import Path

from litestar import Response, get
from litestar.enums import MediaType
from litestar.openapi.plugins import (
    JsonRenderPlugin,
    OpenAPIRenderPlugin,
    SwaggerRenderPlugin,
    YamlRenderPlugin,
)
from litestar.static_files import create_static_files_router
from litestar.types import ControllerRouterHandler
from swagger_ui_bundle import swagger_ui_path

PLAYGROUND_DIR = Path(__file__).parent / "static" / "playground"
SWAGGER_ASSETS = "/schema-assets/swagger-ui"
# The page runs only its own script and talks only to its own origin.
_CSP = (
    "default-src 'self'; img-src 'self' blob:; connect-src 'self'; script-src 'self'; "
    "style-src 'self'; object-src 'none'; base-uri 'none'; frame-ancestors 'none'"
)


@get("/", include_in_schema=False, media_type=MediaType.HTML)
async def playground() -> Response[bytes]:
    """The playground: mint or paste a key, generate, watch the job, see the images."""
    return Response(
        (PLAYGROUND_DIR / "index.html").read_bytes(),
        media_type=MediaType.HTML,
        headers={"Content-Security-Policy": _CSP, "Cache-Control": "no-cache"},
    )


playground_assets = create_static_files_router(
    path="/playground", directories=[PLAYGROUND_DIR], include_in_schema=False
)
swagger_assets = create_static_files_router(
    path=SWAGGER_ASSETS, directories=[Path(str(swagger_ui_path))], include_in_schema=False
)
ROUTES: list[ControllerRouterHandler] = [playground, playground_assets, swagger_assets]


def docs_ui_plugins() -> list[OpenAPIRenderPlugin]:
    """The UIs under /schema: Swagger UI (`/schema`, `/schema/swagger`) and the documents."""
    return [
        SwaggerRenderPlugin(
            path=["/", "/swagger"],
            js_url=f"{SWAGGER_ASSETS}/swagger-ui-bundle.js",
            css_url=f"{SWAGGER_ASSETS}/swagger-ui.css",
            standalone_preset_js_url=f"{SWAGGER_ASSETS}/swagger-ui-standalone-preset.js",
            favicon=f"<link rel='icon' type='image/png' href='{SWAGGER_ASSETS}/favicon-32x32.png'>",
        ),
        JsonRenderPlugin(),
        YamlRenderPlugin(),
    ]
