"""Who is calling: a Bearer key or the HttpOnly key cookie; cross-origin cookie use refused."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, TypeAlias
from urllib.parse import urlsplit

from litestar import Request
from litestar.connection import ASGIConnection
from litestar.datastructures import Cookie
from litestar.handlers.base import BaseRouteHandler

from domain.errors import AmbiguousCredentials, Forbidden, Unauthenticated
from entrypoints.http.client_address import from_trusted_proxy

AnyRequest: TypeAlias = Request[Any, Any, Any]

COOKIE_NAME = "imagegate_key"
TRUSTED_PROXIES_STATE = "trusted_proxies"  # app.state: the parsed TRUSTED_PROXIES
SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})
_COOKIE_MAX_AGE = 400 * 86_400  # browsers cap cookie lifetimes at 400 days
_CROSS_SITE = "A request from another site may not use or set the key cookie; send a Bearer key."


@dataclass(frozen=True, slots=True)
class Credential:
    key: str
    via_cookie: bool


def read_credential(request: AnyRequest) -> Credential | None:
    """The request's key. A Bearer header wins over the cookie (the playground sends a pasted
    key alongside the browser's cookie); two headers or two key cookies are refused."""
    headers = request.headers.getall("authorization", [])
    # Two field lines, or two joined by a comma (a proxy or client may fold them into one):
    # a key never holds a comma.
    if len(headers) > 1 or "," in (headers[0] if headers else ""):
        raise AmbiguousCredentials()
    header = headers[0] if headers else None
    if header:
        scheme, _, token = header.partition(" ")
        if scheme.lower() != "bearer" or not token.strip():
            raise Unauthenticated("The Authorization header must be `Bearer <key>`.")
        return Credential(token.strip(), via_cookie=False)
    cookies = _key_cookies(request)
    if len(set(cookies)) > 1:  # e.g. a sibling subdomain's cookie tossed in beside ours
        raise AmbiguousCredentials()
    return Credential(cookies[0], via_cookie=True) if cookies and cookies[0] else None


def _key_cookies(request: AnyRequest) -> list[str]:
    """Every value of the key cookie across every Cookie header (Litestar keeps only one)."""
    values = []
    for header in request.headers.getall("cookie", []):
        for pair in header.split(";"):
            name, sep, value = pair.strip().partition("=")
            if sep and name == COOKIE_NAME:
                values.append(value.strip().strip('"'))
    return values


def require_credential(request: AnyRequest) -> Credential:
    credential = read_credential(request)
    if credential is None:
        raise Unauthenticated()
    if credential.via_cookie and request.method not in SAFE_METHODS:
        refuse_cross_origin(request)
    return credential


def refuse_cross_origin(request: AnyRequest) -> None:
    """A browser sends the cookie along with cross-site requests; refuse those that change
    state. Bearer requests are not affected: another origin cannot read or send the key.
    Without an `Origin` (older browsers, some form posts) a cross-site `Referer` or
    `Sec-Fetch-Site` still gives the request away."""
    origin = request.headers.get("origin")
    if origin:
        if origin == "null" or _origin_of(origin) != _own_origin(request):
            raise Forbidden(_CROSS_SITE)
        return
    referer = request.headers.get("referer")
    if referer and _origin_of(referer) != _own_origin(request):
        raise Forbidden(_CROSS_SITE)
    if request.headers.get("sec-fetch-site") in {"cross-site", "same-site"}:
        raise Forbidden(_CROSS_SITE)


def same_origin_only(connection: ASGIConnection[Any, Any, Any, Any], _: BaseRouteHandler) -> None:
    """A guard for every route that sets or clears the key cookie: a foreign page must not
    mint a key into its visitor's browser (login CSRF) or clear theirs, whatever it sends."""
    if isinstance(connection, Request):
        refuse_cross_origin(connection)


def _origin_of(url: str) -> str:
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.netloc}".lower()


def _own_origin(request: AnyRequest) -> str:
    """The origin the browser sees. Behind a proxy of ours (`TRUSTED_PROXIES`) that terminates
    TLS or rewrites Host, it is the one the proxy forwards; otherwise the connection's."""
    scheme, host = request.url.scheme, request.headers.get("host", "")
    proxies = getattr(request.app.state, TRUSTED_PROXIES_STATE, ())
    if from_trusted_proxy(request.client.host if request.client else None, proxies):
        scheme = _last(request.headers.get("x-forwarded-proto")) or scheme
        host = _last(request.headers.get("x-forwarded-host")) or host
    return f"{scheme}://{host}".lower()


def _last(header: str | None) -> str:
    """The value the proxy nearest us added (the others are whatever the client claimed)."""
    return header.rsplit(",", 1)[-1].strip() if header else ""


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
