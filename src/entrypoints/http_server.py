"""The HTTP/1.1 protocol the API serves with: uvicorn's httptools protocol, bounded.

uvicorn bounds neither the size of a request's header block nor the time a client may take to
send it, and arms no timer on a connection until its first response: a client could hold a
socket open for ever by sending nothing, or half a request line a minute (slowloris), or send
megabytes of headers that are all parsed and kept. This protocol closes a connection whose
header block is not complete within `header_timeout` seconds of its first byte (or of the
connection, for the first request), and answers 431 to a header block over `max_header_bytes`.
Idle keep-alive sockets stay bounded by uvicorn's own `timeout_keep_alive`.
"""

from __future__ import annotations

import asyncio
from functools import partial
from typing import Any

from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol

_TOO_LARGE = (
    b"HTTP/1.1 431 Request Header Fields Too Large\r\n"
    b"content-type: application/problem+json\r\n"
    b"x-content-type-options: nosniff\r\n"
    b"connection: close\r\n"
    b"content-length: %d\r\n\r\n%s"
)
_TOO_LARGE_BODY = (
    b'{"type":"urn:imagegate:problem:headers_too_large","title":"Request header fields too'
    b' large","status":431,"detail":"The request\'s header block is too large.",'
    b'"code":"headers_too_large"}'
)


class BoundedHttpToolsProtocol(HttpToolsProtocol):
    """HttpToolsProtocol with a header size limit and a header read timeout."""

    def __init__(
        self, *args: Any, max_header_bytes: int, header_timeout: float, **kwargs: Any
    ) -> None:
        super().__init__(*args, **kwargs)
        self._max_header_bytes = max_header_bytes
        self._header_timeout = header_timeout
        self._awaiting_headers = True
        self._header_bytes = 0
        self._header_timer: asyncio.TimerHandle | None = None

    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
        super().connection_made(transport)
        self._arm_header_timer()

    def connection_lost(self, exc: Exception | None) -> None:
        self._cancel_header_timer()
        super().connection_lost(exc)

    def data_received(self, data: bytes) -> None:
        if self._awaiting_headers:
            self._header_bytes += len(data)
            self._arm_header_timer()  # a keep-alive connection's next request starts here
        super().data_received(data)
        if (
            self._awaiting_headers
            and self._header_bytes > self._max_header_bytes
            and not self.transport.is_closing()
        ):
            self._refuse_oversized()

    def on_headers_complete(self) -> None:
        self._awaiting_headers = False
        self._cancel_header_timer()
        super().on_headers_complete()

    def on_message_complete(self) -> None:
        super().on_message_complete()
        self._awaiting_headers = True
        self._header_bytes = 0

    def _refuse_oversized(self) -> None:
        self._cancel_header_timer()
        self.transport.write(_TOO_LARGE % (len(_TOO_LARGE_BODY), _TOO_LARGE_BODY))
        self.transport.close()

    def _arm_header_timer(self) -> None:
        if self._header_timer is None:
            self._header_timer = self.loop.call_later(self._header_timeout, self._header_timed_out)

    def _cancel_header_timer(self) -> None:
        if self._header_timer is not None:
            self._header_timer.cancel()
            self._header_timer = None

    def _header_timed_out(self) -> None:
        self._header_timer = None
        if self._awaiting_headers and not self.transport.is_closing():
            self.transport.close()


def bounded_protocol(*, max_header_bytes: int, header_timeout: float) -> Any:
    """The `http=` argument for `uvicorn.run`: uvicorn calls it like a protocol class."""
    return partial(
        BoundedHttpToolsProtocol, max_header_bytes=max_header_bytes, header_timeout=header_timeout
    )
