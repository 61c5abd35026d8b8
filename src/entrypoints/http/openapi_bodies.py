"""What the document states about request bodies beyond what Litestar says: every bound msgspec
enforces on a field, on the right branch of an optional field, `additionalProperties: false`
on the bodies that refuse unknown fields, and what only the deployment knows (its model and
sizes, its plans).

Litestar puts an optional field's bounds beside its `oneOf` and leaves out a bound of zero
(`ge=0`), so the document said less than the server checks; the bounds are read from msgspec's
own description of each Struct instead, so a bound added to a body is documented with it. A
float that must be a multiple of 1 (how a body accepts `2.0` for a count) is an `integer`.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

import msgspec
import msgspec.inspect as mi
from litestar.openapi.spec import OpenAPIType, Reference, Schema

from domain.operator_service import META_MAX_BYTES
from domain.validation import capabilities_for
from entrypoints.http.admin_schemas import KeyCreateBody, KeyPatchBody
from entrypoints.http.schemas import GenerationBody

# msgspec's constraint names and the Schema attributes that state them.
_STRING_BOUNDS = {"min_length": "min_length", "max_length": "max_length", "pattern": "pattern"}
_NUMBER_BOUNDS = {
    "ge": "minimum",
    "le": "maximum",
    "gt": "exclusive_minimum",
    "lt": "exclusive_maximum",
    "multiple_of": "multiple_of",
}
_BOUNDED: dict[type, tuple[OpenAPIType, dict[str, str]]] = {
    mi.StrType: (OpenAPIType.STRING, _STRING_BOUNDS),
    mi.IntType: (OpenAPIType.INTEGER, _NUMBER_BOUNDS),
    mi.FloatType: (OpenAPIType.NUMBER, _NUMBER_BOUNDS),
}


def tailor_bodies(
    schemas: Mapping[str, Schema | Reference], *, image_model: str, plans: Iterable[str]
) -> None:
    """Every strict body as exact as msgspec is; the submit body's model and sizes and the
    operator's plans as this deployment has them."""
    strict = strict_structs(msgspec.Struct)
    for name, schema in schemas.items():
        struct = strict.get(name)
        if struct is None or not isinstance(schema, Schema):
            continue
        state_body(schema, struct)
        if struct is GenerationBody and schema.properties:
            _tailor_generation(schema.properties, image_model)
        if struct in (KeyCreateBody, KeyPatchBody) and schema.properties:
            _tailor_operator_body(schema.properties, plans)


def strict_structs(base: type[msgspec.Struct]) -> dict[str, type[msgspec.Struct]]:
    """Every Struct (by its component name) that refuses unknown fields, wherever declared."""
    found: dict[str, type[msgspec.Struct]] = {}
    for struct in base.__subclasses__():
        if struct.__struct_config__.forbid_unknown_fields:
            found[struct.__name__] = struct
        found.update(strict_structs(struct))
    return found


def state_body(schema: Schema, struct: type[msgspec.Struct]) -> None:
    """`schema` (Litestar's component for `struct`) as exact as msgspec is."""
    schema.additional_properties = False
    info = mi.type_info(struct)
    for field in info.fields if isinstance(info, mi.StructType) else ():
        prop = (schema.properties or {}).get(field.encode_name)
        if isinstance(prop, Schema):
            _state_bounds(prop, field.type)


def _state_bounds(prop: Schema, field_type: mi.Type) -> None:
    bounded = _bounded_type(field_type)
    if bounded is None:
        return
    kind, names = _BOUNDED[type(bounded)]
    bounds = {attr: getattr(bounded, name) for name, attr in names.items()}
    bounds = {attr: value for attr, value in bounds.items() if value is not None}
    if not bounds:
        return
    branches = [b for b in prop.one_of or () if isinstance(b, Schema) and b.type == kind]
    for attr in bounds if branches else ():
        setattr(prop, attr, None)  # stated on the branch it bounds, not beside the oneOf
    whole = kind == OpenAPIType.NUMBER and bounds.get("multiple_of") == 1
    if whole:  # a float that must be whole: what JSON Schema calls an integer
        del bounds["multiple_of"]
        bounds["type"] = OpenAPIType.INTEGER
    for target in branches or [prop]:
        for attr, value in bounds.items():
            setattr(target, attr, value)
        if whole:
            target.multiple_of = None


def _bounded_type(field_type: mi.Type) -> Any:
    """The string or number type inside a field's type (through Annotated and `| None`)."""
    if isinstance(field_type, mi.Metadata):
        return _bounded_type(field_type.type)
    if isinstance(field_type, mi.UnionType):
        inner = [_bounded_type(t) for t in field_type.types]
        found = [t for t in inner if t is not None]
        return found[0] if len(found) == 1 else None
    return field_type if type(field_type) in _BOUNDED else None


def _tailor_operator_body(properties: dict[str, Schema | Reference], plans: Iterable[str]) -> None:
    """A key's `plan` names one of the deployment's; `meta` cannot hold `plan` (the plan has
    its own field); its size as JSON and a future `expires_at` are said in words."""
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
    expires = properties.get("expires_at")
    if isinstance(expires, Schema):  # "in the future" is a rule no schema keyword can state
        expires.description = "When the key stops working: a future time with its offset."


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
