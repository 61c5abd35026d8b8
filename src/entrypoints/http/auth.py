"""Who is calling: a Bearer key or the HttpOnly key cookie; cross-origin cookie use refused."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, TypeAlias
from urllib.parse import urlsplit

from litestar import Request
from litestar.datastructures import Cookie

from domain.errors import Forbidden, Unauthenticated

AnyRequest: TypeAlias = Request[Any, Any, Any]

COOKIE_NAME = "imagegate_key"
SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})
_COOKIE_MAX_AGE = 400 * 86_400  # browsers cap cookie lifetimes at 400 days


@dataclass(frozen=True, slots=True)
class Credential:
    key: str
    via_cookie: bool


def read_credential(request: AnyRequest) -> Credential | None:
    header = request.headers.get("authorization")
    if header:
        scheme, _, token = header.partition(" ")
        if scheme.lower() != "bearer" or not token.strip():
            raise Unauthenticated("The Authorization header must be `Bearer <key>`.")
        return Credential(token.strip(), via_cookie=False)
    cookie = request.cookies.get(COOKIE_NAME)
    return Credential(cookie, via_cookie=True) if cookie else None


def require_credential(request: AnyRequest) -> Credential:
    credential = read_credential(request)
    if credential is None:
        raise Unauthenticated()
    if credential.via_cookie and request.method not in SAFE_METHODS:
        refuse_cross_origin(request)
    return credential


def refuse_cross_origin(request: AnyRequest) -> None:
    """A browser sends the cookie along with cross-site requests; refuse those that change
    state. Bearer requests are not affected: another origin cannot read or send the key."""
    origin = request.headers.get("origin")
    if origin:
        if origin == "null" or _origin_of(origin) != _own_origin(request):
            raise Forbidden("Cross-origin requests may not use the key cookie; send a Bearer key.")
        return
    if request.headers.get("sec-fetch-site") in {"cross-site", "same-site"}:
        raise Forbidden("Cross-site requests may not use the key cookie; send a Bearer key.")


def _origin_of(url: str) -> str:
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.netloc}".lower()


def _own_origin(request: AnyRequest) -> str:
    host = request.headers.get("host", "")
    return f"{request.url.scheme}://{host}".lower()


def key_cookie(key: str, *, secure: bool) -> Cookie:
    return Cookie(
        key=COOKIE_NAME,
        value=key,
        httponly=True,
        samesite="lax",
        secure=secure,
        path="/",
        max_age=_COOKIE_MAX_AGE,
    )


def clear_key_cookie(*, secure: bool) -> Cookie:
    return Cookie(
        key=COOKIE_NAME, value="", httponly=True, samesite="lax", secure=secure, path="/", max_age=0
    )


@dataclass(frozen=True, slots=True)
class KeyCookies:
    """The key cookie as this deployment sets it (`Secure` unless COOKIE_SECURE=false)."""

    secure: bool

    def holding(self, key: str) -> Cookie:
        return key_cookie(key, secure=self.secure)

    def cleared(self) -> Cookie:
        return clear_key_cookie(secure=self.secure)
