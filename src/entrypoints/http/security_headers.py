"""The security headers every response carries (a before-send hook, so 404s and errors too).

- `X-Content-Type-Options: nosniff`: a browser renders a JSON error or an image as what its
  type says, never as HTML it guessed (a prompt echoed in a job is caller-controlled text).
- `X-Frame-Options: DENY` and a CSP with `frame-ancestors 'none'` wherever a route sets none:
  no page of ours can be framed (clickjacking the playground's mint button), and a JSON or
  image response, opened as a page, loads nothing (`default-src 'none'`).
- `Referrer-Policy`: `no-referrer` on the API; `same-origin` on HTML pages, because under
  `no-referrer` a browser sends `Origin: null` on the page's own POSTs, which the key cookie's
  cross-origin rule refuses.
"""

from __future__ import annotations

from litestar.datastructures import MutableScopeHeaders
from litestar.enums import ScopeType
from litestar.types import Message, Scope

API_CSP = "default-src 'none'; frame-ancestors 'none'"
FRAMING_CSP = "frame-ancestors 'none'"  # HTML of Litestar's (Swagger UI) runs inline scripts


async def add_security_headers(message: Message, scope: Scope) -> None:
    if scope["type"] != ScopeType.HTTP or message["type"] != "http.response.start":
        return
    headers = MutableScopeHeaders.from_message(message)
    html = headers.get("content-type", "").startswith("text/html")
    headers["X-Content-Type-Options"] = "nosniff"
    headers["X-Frame-Options"] = "DENY"
    if "content-security-policy" not in headers:  # the playground sets its own
        headers["Content-Security-Policy"] = FRAMING_CSP if html else API_CSP
    if "referrer-policy" not in headers:
        headers["Referrer-Policy"] = "same-origin" if html else "no-referrer"
