"""How every operation is described in the OpenAPI document: its security, the request
headers it reads, the response headers it sends, its errors (always problem JSON), and an
example. One mechanism, so that a new route tells the same truth as the old ones:

    @post("/v1/things", status_code=201, **documented(
        auth=True, errors=(409, 422), request_headers=("Idempotency-Key",),
        headers={201: ("Location",)}, example={"id": "thing_1"}))

`documented` returns the decorator's `responses`, `security` and `operation_class`; the
operation class fills in what Litestar cannot say by itself (headers on error responses,
header parameters, several image media types) when the document is built. A header or a
security scheme a route names must have its row in REQUEST_HEADERS / RESPONSE_HEADERS /
SECURITY_SCHEMES (`documented` refuses others), so each is described once. `tailor` adds what
only the running deployment knows (its model, its plans) and, for every Struct declared with
`forbid_unknown_fields=True`, `additionalProperties: false` and every bound msgspec enforces.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any, ClassVar

from litestar.openapi.spec import (
    Components,
    OpenAPI,
    OpenAPIHeader,
    OpenAPIMediaType,
    OpenAPIResponse,
    OpenAPIType,
    Operation,
    Parameter,
    Reference,
    RequestBody,
    Schema,
    SecurityScheme,
)

from entrypoints.http.auth import COOKIE_NAME
from entrypoints.http.examples import EVENT_EXAMPLE, HEADER_EXAMPLES, PATH_EXAMPLES
from entrypoints.http.openapi_bodies import tailor_bodies
from entrypoints.http.openapi_headers import (
    ALWAYS_SENT,
    BROWSER,
    HEADERS_BY_STATUS,
    REQUEST_HEADERS,
    RESPONSE_HEADERS,
    string,
)
from entrypoints.http.problems import PROBLEM_JSON, problem_responses

BEARER = "bearer"
KEY_COOKIE = "keyCookie"
ADMIN_SCHEME = "adminToken"
# Either credential works; OpenAPI lists alternatives as separate requirements.
KEY_SECURITY: list[dict[str, list[str]]] = [{BEARER: []}, {KEY_COOKIE: []}]
SECURITY_SCHEMES: dict[str, SecurityScheme | Reference] = {
    BEARER: SecurityScheme(
        type="http",
        scheme="bearer",
        description="The API key: `Authorization: Bearer <key>` (from POST /v1/keys).",
    ),
    KEY_COOKIE: SecurityScheme(
        type="apiKey",
        name=COOKIE_NAME,
        security_scheme_in="cookie",
        description="The HttpOnly key cookie set by POST /v1/keys and POST /authorize; "
        "state-changing requests that use it must come from the API's own origin.",
    ),
    ADMIN_SCHEME: SecurityScheme(
        type="http",
        scheme="bearer",
        description="The operator's token: `Authorization: Bearer <ADMIN_TOKEN>` (the operator "
        "API under /v1/admin; it answers 404 when the server has no ADMIN_TOKEN).",
    ),
}


@dataclass
class _DocumentedOperation(Operation):
    """Litestar builds one of these per operation; `__post_init__` adds what it cannot say."""

    # Set by `documented` on a subclass; class variables, so not constructor fields.
    _request_headers: ClassVar[tuple[str, ...]] = ()
    _headers: ClassVar[Mapping[int, tuple[str, ...]]] = {}
    _example: ClassVar[Any] = None
    _request_example: ClassVar[Any] = None
    _media_types: ClassVar[tuple[str, ...]] = ()

    def __post_init__(self) -> None:
        params = [p for p in self.parameters or [] if not _is_header(p, self._request_headers)]
        for param in params:
            if isinstance(param, Parameter) and param.param_in == "path" and param.example is None:
                param.example = PATH_EXAMPLES.get(param.name)
        self.parameters = [*params, *_header_params(("X-Request-ID", *self._request_headers))]
        for status_text, response in (self.responses or {}).items():
            if isinstance(response, OpenAPIResponse):
                self._describe(int(status_text), response)
        body = self.request_body
        if self._request_example is not None and isinstance(body, RequestBody):
            for media in body.content.values():
                media.example = self._request_example

    def _describe(self, status: int, response: OpenAPIResponse) -> None:
        names = (*ALWAYS_SENT, *HEADERS_BY_STATUS.get(status, ()), *self._headers.get(status, ()))
        if status < 300 and SSE in self._media_types:
            names += ("X-Accel-Buffering",)
        response.headers = {
            name: OpenAPIHeader(
                schema=string(),
                description=RESPONSE_HEADERS[name],
                required=name in ALWAYS_SENT,
                example=HEADER_EXAMPLES[name],
            )
            for name in dict.fromkeys(names)
        }
        if status >= 400:
            problem = Reference(ref="#/components/schemas/Problem")
            response.content = {PROBLEM_JSON: OpenAPIMediaType(schema=problem)}
        elif status < 300 and self._media_types:
            binary = string(format="binary")
            response.content = {
                kind: OpenAPIMediaType(schema=SSE_EVENT, example=EVENT_EXAMPLE)
                if kind == SSE
                else OpenAPIMediaType(schema=binary)
                for kind in self._media_types
            }
        elif status < 300 and response.content and self._example is not None:
            for media in response.content.values():
                media.example = self._example


def _header_params(names: Iterable[str]) -> list[Parameter | Reference]:
    return [
        Parameter(name=name, param_in="header", description=REQUEST_HEADERS[name][0],
                  schema=REQUEST_HEADERS[name][1])
        for name in names
    ]  # fmt: skip


def _is_header(parameter: Parameter | Reference, names: Iterable[str]) -> bool:
    return (
        isinstance(parameter, Parameter)
        and parameter.param_in == "header"
        and parameter.name.lower() in {"x-request-id", *(n.lower() for n in names)}
    )


def documented(
    *,
    auth: bool | Iterable[str],
    errors: Iterable[int] = (),
    request_headers: Iterable[str] = (),
    headers: Mapping[int, Iterable[str]] | None = None,
    example: Any = None,
    request_example: Any = None,
    media_types: Iterable[str] = (),
) -> dict[str, Any]:
    """The decorator arguments that document an operation.

    auth: True when the caller's key is required (Bearer or cookie), or the names of other
      schemes in SECURITY_SCHEMES (any one of them suffices); either adds 401 to `errors`.
    errors: the 4xx/5xx statuses it may answer, each as problem JSON.
    request_headers: names from REQUEST_HEADERS it reads (X-Request-ID is always there).
    headers: for a status, names from RESPONSE_HEADERS it sends (X-Request-ID always; 401,
      429 and 503 get theirs automatically).
    example / request_example: a success body and a request body, as the server sends them.
    media_types: for a binary answer, every content type it may have.
    """
    statuses = sorted({*errors, *((401,) if auth is not False else ())})
    security = _security(auth)
    unknown = [name for name in request_headers if name not in REQUEST_HEADERS]
    unknown += [n for names in (headers or {}).values() for n in names if n not in RESPONSE_HEADERS]
    if unknown:
        raise ValueError(f"undeclared headers: {unknown} (add them to openapi_docs)")
    operation_class = type(
        "DocumentedOperation",
        (_DocumentedOperation,),
        {
            "_request_headers": tuple(request_headers),
            "_headers": {status: tuple(names) for status, names in (headers or {}).items()},
            "_example": example,
            "_request_example": request_example,
            "_media_types": tuple(media_types),
        },
    )
    return {
        "responses": problem_responses(*statuses),
        "security": security,
        "operation_class": operation_class,
    }


SSE = "text/event-stream"
# Before OpenAPI 3.2 a stream's `schema` describes each event (pings are comments, not events).
SSE_EVENT = Schema(
    type=OpenAPIType.OBJECT,
    required=["data"],
    properties={
        "event": Schema(type=OpenAPIType.STRING, enum=["job"]),
        "id": Schema(type=OpenAPIType.STRING, description="Send it back as Last-Event-ID"),
        "data": Schema(type=OpenAPIType.STRING, description="The job resource, as JSON"),
        "retry": Schema(type=OpenAPIType.INTEGER),
    },
)


def _security(auth: bool | Iterable[str]) -> list[dict[str, list[str]]] | None:
    if auth is True:
        return KEY_SECURITY
    if auth is False:
        return None
    names = list(auth)
    if not names or any(name not in SECURITY_SCHEMES for name in names):
        raise ValueError(f"undeclared security schemes: {names} (add them to SECURITY_SCHEMES)")
    return [{name: []} for name in names]


def components() -> Components:
    """The document's shared components: the security schemes."""
    return Components(security_schemes=SECURITY_SCHEMES)


def tailor(
    document: OpenAPI, *, image_model: str, plans: Iterable[str] = (), numeric_cursors: bool = False
) -> None:
    """What only this deployment knows: the one model it accepts and that model's sizes, the
    plans an operator may name, the format of the key list's cursor (the local store's is a
    number; Unkey's is its own); every bound msgspec enforces on a body that refuses unknown
    fields (openapi_bodies); and the browser headers a cookie-guarded operation reads."""
    plans = tuple(plans)
    if document.components and document.components.schemas:
        tailor_bodies(document.components.schemas, image_model=image_model, plans=plans)
    listing = document.paths.get("/v1/admin/keys") if document.paths else None
    create = listing.post.request_body if listing and listing.post else None
    for media in create.content.values() if isinstance(create, RequestBody) and plans else ():
        if isinstance(media.example, dict):
            media.example = {**media.example, "plan": sorted(plans)[0]}
    if numeric_cursors and listing is not None and listing.get is not None:
        for parameter in listing.get.parameters or []:
            if isinstance(parameter, Parameter) and parameter.name == "cursor":
                parameter.schema = Schema(type=OpenAPIType.STRING, pattern="^([0-9]{1,19})?$")
    for item in (document.paths or {}).values():
        for operation in (item.post, item.put, item.patch, item.delete):
            if operation is not None and _cookie_guarded(operation):
                operation.parameters = [*(operation.parameters or []), *_header_params(BROWSER)]


def _cookie_guarded(operation: Operation) -> bool:
    """Whether a state-changing operation refuses cross-site browser requests: it sets or
    clears the key cookie, or it takes the cookie as a credential."""
    sets_cookie = any(
        isinstance(r, OpenAPIResponse) and "Set-Cookie" in (r.headers or {})
        for r in (operation.responses or {}).values()
    )
    return sets_cookie or {KEY_COOKIE: []} in (operation.security or [])
