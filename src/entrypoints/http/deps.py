"""Litestar dependencies: the container and the authenticated caller."""

from __future__ import annotations

from dataclasses import dataclass

from litestar.datastructures import State

from domain.models import Charge
from domain.services import authenticate
from entrypoints.bootstrap import ApiContainer
from entrypoints.http.auth import AnyRequest, Credential, require_credential
from entrypoints.http.quota_headers import quota_headers


def provide_container(state: State) -> ApiContainer:
    container: ApiContainer = state.container
    return container


@dataclass(frozen=True, slots=True)
class Caller:
    credential: Credential
    key_id: str
    charge: Charge


async def provide_caller(request: AnyRequest, container: ApiContainer) -> Caller:
    """Authenticate without spending: a zero-cost verify resolves the key to its id."""
    credential = require_credential(request)
    charge = await authenticate(credential.key, quota=container.quota)
    assert charge.key_id is not None
    return Caller(credential=credential, key_id=charge.key_id, charge=charge)


def caller_quota_headers(caller: Caller, container: ApiContainer) -> dict[str, str]:
    refill = caller.charge.refill or container.settings.plan.refill
    return quota_headers(caller.charge.remaining, refill, container.clock.now())
