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

import msgspec
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
    Schema,
    SecurityScheme,
)

from domain.operator_service import META_MAX_BYTES
from domain.validation import capabilities_for
from entrypoints.http.auth import COOKIE_NAME
from entrypoints.http.openapi_bodies import state_body, strict_structs
from entrypoints.http.openapi_headers import (
    HEADERS_BY_STATUS,
    REQUEST_HEADERS,
    RESPONSE_HEADERS,
    string,
)
from entrypoints.http.problems import PROBLEM_JSON, problem_responses
from entrypoints.http.schemas import GenerationBody

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
        for name in ("X-Request-ID", *self._request_headers):
            description, schema = REQUEST_HEADERS[name]
            params.append(
                Parameter(name=name, param_in="header", description=description, schema=schema)
            )
        self.parameters = params
        for status_text, response in (self.responses or {}).items():
            if not isinstance(response, OpenAPIResponse):
                continue
            status = int(status_text)
            names = (
                "X-Request-ID",
                *HEADERS_BY_STATUS.get(status, ()),
                *self._headers.get(status, ()),
            )
            response.headers = {
                name: OpenAPIHeader(
                    schema=string(),
                    description=RESPONSE_HEADERS[name],
                    required=name == "X-Request-ID",
                )
                for name in dict.fromkeys(names)
            }
            if status >= 400:
                response.content = {
                    PROBLEM_JSON: OpenAPIMediaType(
                        schema=Reference(ref="#/components/schemas/Problem")
                    )
                }
            elif status < 300 and self._media_types:
                binary = string(format="binary")
                response.content = {
                    kind: OpenAPIMediaType(schema=SSE_EVENT if kind == SSE else binary)
                    for kind in self._media_types
                }
            elif status < 300 and response.content and self._example is not None:
                for media in response.content.values():
                    media.example = self._example
        body = self.request_body
        if (
            self._request_example is not None
            and body is not None
            and not isinstance(body, Reference)
        ):
            for media in body.content.values():
                media.example = self._request_example


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
    number; Unkey's is its own); and every bound msgspec enforces on a body that refuses
    unknown fields (openapi_bodies)."""
    schemas = document.components.schemas if document.components else None
    strict = strict_structs(msgspec.Struct)
    for name, schema in (schemas or {}).items():
        struct = strict.get(name)
        if struct is None or not isinstance(schema, Schema):
            continue
        state_body(schema, struct)
        if struct is GenerationBody and schema.properties:
            _tailor_generation(schema.properties, image_model)
        if name in {"KeyCreateBody", "KeyPatchBody"} and schema.properties:
            _tailor_operator_body(schema.properties, plans)
    listing = document.paths.get("/v1/admin/keys") if document.paths else None
    if numeric_cursors and listing is not None and listing.get is not None:
        for parameter in listing.get.parameters or []:
            if isinstance(parameter, Parameter) and parameter.name == "cursor":
                parameter.schema = Schema(type=OpenAPIType.STRING, pattern="^([0-9]{1,19})?$")


def _tailor_operator_body(properties: dict[str, Schema | Reference], plans: Iterable[str]) -> None:
    """A key's `plan` names one of the deployment's; `meta` cannot hold `plan` (the plan has
    its own field) and its size is checked as JSON, which no schema keyword says."""
    if plans:
        properties["plan"] = Schema(type=OpenAPIType.STRING, enum=sorted(plans))
    meta = properties.get("meta")
    for branch in meta.one_of or () if isinstance(meta, Schema) else ():
        if isinstance(branch, Schema) and branch.type == OpenAPIType.OBJECT:
            branch.property_names = Schema(schema_not=Schema(const="plan"))
            branch.description = (
                f"Your data about the key, at most {META_MAX_BYTES} bytes as compact JSON; "
                "`plan` is reserved."
            )


def _tailor_generation(properties: dict[str, Schema | Reference], image_model: str) -> None:
    caps = capabilities_for(image_model)
    properties["n"] = Schema(
        type=OpenAPIType.INTEGER,
        minimum=1,
        maximum=caps.max_n,
        default=1,
        description="How many images; each costs one credit.",
    )
    properties["model"] = Schema(
        one_of=[Schema(type=OpenAPIType.STRING, enum=[image_model]), Schema(type=OpenAPIType.NULL)],
        default=None,
        description=f"The image model; this deployment accepts only `{image_model}` (the default).",
    )
    free = caps.free_sizes
    also = (
        f" This model also draws WIDTHxHEIGHT with both sides multiples of {free.step} up to "
        f"{free.max_side}, an aspect ratio within {free.max_ratio:g}:1 and at most "
        f"{free.max_pixels} pixels; the list names the sizes every client can rely on."
        if free
        else ""
    )
    properties["size"] = Schema(
        type=OpenAPIType.STRING,
        enum=sorted(caps.sizes),
        default="1024x1024",
        description="The image size." + also,
    )
