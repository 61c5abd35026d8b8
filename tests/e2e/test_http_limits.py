"""The API server bounds a request's header block in size and in the time to send it."""

from __future__ import annotations

import socket
import time

import pytest

from tests.e2e.stack import Stack

pytestmark = pytest.mark.e2e


@pytest.fixture
def api(make_stack) -> Stack:  # type: ignore[no-untyped-def]
    running = make_stack({"HTTP_HEADER_TIMEOUT_SECONDS": "1", "HTTP_MAX_HEADER_BYTES": "16384"})
    running.start_api()
    return running


def _connect(stack: Stack) -> socket.socket:
    sock = socket.create_connection(("127.0.0.1", stack.port), timeout=10)
    sock.settimeout(10)
    return sock


def _read_all(sock: socket.socket) -> bytes:
    chunks = []
    try:
        while chunk := sock.recv(65536):
            chunks.append(chunk)
    except ConnectionResetError:
        pass
    return b"".join(chunks)


def _read_response(sock: socket.socket) -> bytes:
    """One whole response on a kept-alive connection: the head, then Content-Length bytes."""
    data = b""
    while b"\r\n\r\n" not in data:
        chunk = sock.recv(65536)
        assert chunk, f"connection closed mid-response: {data!r}"
        data += chunk
    head, _, body = data.partition(b"\r\n\r\n")
    length = next(
        int(line.split(b":", 1)[1])
        for line in head.split(b"\r\n")
        if line.lower().startswith(b"content-length:")
    )
    while len(body) < length:
        chunk = sock.recv(65536)
        assert chunk, "connection closed mid-body"
        body += chunk
    return head + b"\r\n\r\n" + body


def test_an_oversized_header_block_is_refused_with_431(api: Stack) -> None:
    sock = _connect(api)
    sock.sendall(b"GET /healthz HTTP/1.1\r\nHost: x\r\n")
    sent = 0
    refused_while_sending = False
    try:
        while sent < 4 * 1024 * 1024:  # a 4 MiB header block, in 8 KiB headers
            sock.sendall(b"X-Filler-%d: %s\r\n" % (sent, b"a" * 8192))
            sent += 8200
    except (BrokenPipeError, ConnectionResetError):
        refused_while_sending = True
    answer = _read_all(sock)
    sock.close()
    assert answer.startswith(b"HTTP/1.1 431 "), (refused_while_sending, answer[:200])
    assert b"headers_too_large" in answer
    assert b"x-content-type-options: nosniff" in answer.lower()  # like every other response


def test_a_normal_request_with_headers_under_the_limit_is_served(api: Stack) -> None:
    sock = _connect(api)
    sock.sendall(
        b"GET /healthz HTTP/1.1\r\nHost: x\r\nX-Filler: " + b"a" * 8000 + b"\r\n"
        b"Connection: close\r\n\r\n"
    )
    assert _read_all(sock).startswith(b"HTTP/1.1 200 ")
    sock.close()


@pytest.mark.parametrize(
    "partial", [b"", b"GET /healthz HTTP/1.1\r\nHost: x\r\n"], ids=["silent", "half-sent"]
)
def test_a_connection_that_does_not_finish_its_headers_is_closed(
    api: Stack, partial: bytes
) -> None:
    sock = _connect(api)
    sock.sendall(partial)
    started = time.monotonic()
    answer = _read_all(sock)  # returns when the server closes the connection
    waited = time.monotonic() - started
    sock.close()
    assert answer == b""
    # Closed by the 1 s header timeout, well before this socket's own 10 s timeout.
    assert waited < 8, waited


def test_the_header_timer_restarts_for_each_request_on_a_keep_alive_connection(
    api: Stack,
) -> None:
    sock = _connect(api)
    for _ in range(3):  # each request well within 1 s, together longer than the timeout
        sock.sendall(b"GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n")
        assert _read_response(sock).startswith(b"HTTP/1.1 200 ")
        time.sleep(0.6)
    sock.close()
