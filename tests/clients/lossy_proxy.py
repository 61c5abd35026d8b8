"""A loopback TCP proxy that loses the answer to the first submit: it forwards the request,
waits until the server has answered, then closes the client's connection without a byte.
Every other connection is piped through untouched."""

from __future__ import annotations

import socket
import threading
from contextlib import suppress

SUBMIT = b"POST /v1/images/generations "


class LossyProxy:
    def __init__(self, upstream_port: int) -> None:
        self._upstream = ("127.0.0.1", upstream_port)
        self._listener = socket.create_server(("127.0.0.1", 0))
        self.port = self._listener.getsockname()[1]
        self.url = f"http://127.0.0.1:{self.port}"
        self.submits: list[bytes] = []  # the request heads of every submit seen
        self._dropped = False
        self._lock = threading.Lock()
        threading.Thread(target=self._accept, daemon=True).start()

    def close(self) -> None:
        self._listener.close()

    def _accept(self) -> None:
        while True:
            try:
                client, _ = self._listener.accept()
            except OSError:
                return
            threading.Thread(target=self._serve, args=(client,), daemon=True).start()

    def _serve(self, client: socket.socket) -> None:
        upstream = socket.create_connection(self._upstream)
        first = client.recv(65536)
        while first and b"\r\n\r\n" not in first:
            more = client.recv(65536)
            if not more:
                break
            first += more
        with self._lock:
            is_submit = first.startswith(SUBMIT)
            if is_submit:
                self.submits.append(first.split(b"\r\n\r\n", 1)[0])
            drop = is_submit and not self._dropped
            self._dropped = self._dropped or drop
        if drop:
            first += self._rest_of_body(client, first)
            upstream.sendall(first)
            upstream.recv(1)  # the server has answered (and recorded the answer): lose it
            upstream.close()
            client.close()
            return
        upstream.sendall(first)
        threading.Thread(target=_pipe, args=(upstream, client), daemon=True).start()
        _pipe(client, upstream)

    @staticmethod
    def _rest_of_body(client: socket.socket, received: bytes) -> bytes:
        head, _, body = received.partition(b"\r\n\r\n")
        length = 0
        for line in head.split(b"\r\n")[1:]:
            name, _, value = line.partition(b":")
            if name.strip().lower() == b"content-length":
                length = int(value.strip())
        rest = b""
        while len(body) + len(rest) < length:
            chunk = client.recv(65536)
            if not chunk:
                break
            rest += chunk
        return rest


def _pipe(source: socket.socket, target: socket.socket) -> None:
    with suppress(OSError):
        while chunk := source.recv(65536):
            target.sendall(chunk)
    for sock in (source, target):
        with suppress(OSError):
            sock.shutdown(socket.SHUT_RDWR)
