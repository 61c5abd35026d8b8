"""Errors of the operator use cases and the key states of issue 12, each with a stable code.

Subclasses of the errors in domain/errors.py, so the HTTP edge's table maps them by their base
(InvalidRequest 422, InvalidKey 401, Forbidden 403) until it lists them; KeyNotFound needs a
404 entry of its own.
"""

from __future__ import annotations

from domain.errors import DomainError, Forbidden, InvalidKey, InvalidRequest


class KeyNotFound(DomainError):
    code = "key_not_found"
    message = "No key with this id."


class UnknownPlan(InvalidRequest):
    code = "unknown_plan"
    message = "No such plan."

    def __init__(self, name: str) -> None:
        super().__init__(f"No plan named {name!r}.", field="plan")
        self.name = name


class SelfServeDisabled(Forbidden):
    code = "self_serve_disabled"
    message = "Keys are issued by the operator here: no plan is self-serve."


class KeyDisabled(InvalidKey):
    code = "key_disabled"
    message = "This API key is disabled."


class KeyExpired(InvalidKey):
    code = "key_expired"
    message = "This API key has expired."
