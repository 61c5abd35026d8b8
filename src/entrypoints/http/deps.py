"""Litestar dependencies: each use case by name, and the authenticated caller.

Handlers name what they use (`submit: NamedDependency[SubmitGeneration]`,
`caller: NamedDependency[Caller]`, ...); the names are the ApiContainer's fields, resolved from the
container built on startup. A parameter typed by a Protocol is also `SkipValidation[...]`
(`images: NamedDependency[SkipValidation[ImageStore]]`): Litestar checks injected values with
isinstance, which a Protocol refuses.
"""

from __future__ import annotations

from dataclasses import fields
from typing import Any

from litestar.datastructures import State
from litestar.di import Provide

from domain.api_keys import Caller
from entrypoints.bootstrap import ApiContainer
from entrypoints.http.auth import AnyRequest


def _field_of_container(name: str) -> Provide:
    def provide(state: State) -> Any:
        return getattr(state.container, name)

    return Provide(provide, sync_to_thread=False)


def _value(value: object) -> Provide:
    def provide() -> Any:
        return value

    return Provide(provide, sync_to_thread=False, use_cache=True)


QUOTA_HEADERS_STATE = "quota_headers"  # the app's QuotaHeaders, in its state


async def provide_caller(request: AnyRequest, state: State) -> Caller:
    """The `caller` dependency (`CallerCheck.take`; `ReleaseKeySlots` gives its slot back).
    It takes the check from the container rather than as a dependency of its own: Litestar
    resolves a level's dependencies side by side in an anyio task group per request
    (entrypoints/http/route_uses.py)."""
    container: ApiContainer = state.container
    return await container.callers.take(request)


def dependencies(**values: object) -> dict[str, Provide]:
    """Every container field by its name, the caller, and `values` as they are."""
    provided = {f.name: _field_of_container(f.name) for f in fields(ApiContainer)}
    provided.update({name: _value(value) for name, value in values.items()})
    provided["caller"] = Provide(provide_caller)
    return provided
