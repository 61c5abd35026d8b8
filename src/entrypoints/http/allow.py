"""`Allow` on OPTIONS lists every method of the path, as the OpenAPI document does.

Litestar builds a path's OPTIONS handler with the path's first route; when a second handler
joins the path (GET /v1/me, then DELETE /v1/me) the route is rebuilt but the old OPTIONS
handler is kept, still answering with the first route's methods (`GET, OPTIONS`). Pointing it
at the rebuilt route makes it answer `DELETE, GET, OPTIONS`, as a 405 already does.
"""

from __future__ import annotations

from litestar import Litestar
from litestar.routes import HTTPRoute


def point_options_at_their_routes(app: Litestar) -> None:
    for route in app.routes:
        if not isinstance(route, HTTPRoute) or "OPTIONS" not in route.route_handler_map:
            continue
        handler, _ = route.route_handler_map["OPTIONS"]
        fn = handler.fn
        if getattr(fn, "__code__", None) is None or fn.__code__.co_freevars != ("self",):
            continue  # one of ours, or a Litestar that no longer has this shape
        cell = fn.__closure__[0]  # type: ignore[index]
        if isinstance(cell.cell_contents, HTTPRoute):
            cell.cell_contents = route
