"""Sending webhook deliveries over HTTP without being turned against our own network.

The submit-time check (`domain.webhook_urls.validate_webhook_url`) is not enough on its own: the
host's DNS answer may change before the delivery ("rebinding": global at submit, 127.0.0.1 at
delivery). So the delivery client resolves the host ONCE per connection, checks every address,
connects to one of exactly those addresses, and checks the peer it ended up connected to. The
URL's host still goes into the Host header and into TLS (SNI and certificate verification are
for the hostname: httpcore's TLS upgrade uses the request's origin, not the address dialled).

httpx has no parameter for a network backend, so `PinnedTransport` replaces the connection pool
httpx builds with one that dials through `PinnedBackend`. Proxies from the environment are
ignored (`trust_env=False`): a proxy would connect on our behalf, past the check. Redirects are
not followed, and the timeout is 10 s per phase (connect, write, each read).
"""

from __future__ import annotations

import logging
import socket
import ssl
import time
from collections.abc import Iterable, Sequence
from urllib.parse import urlsplit

import httpcore
import httpx

from domain.errors import InvalidWebhookUrl
from domain.webhook_delivery import SendResult
from domain.webhook_urls import HostResolver, IPAddress, check_address, literal_address

log = logging.getLogger("imagegate.webhooks")

DELIVERY_TIMEOUT_SECONDS = 10.0
USER_AGENT = "imagegate-webhooks/1"


class SystemResolver:
    """The operating system's resolver (getaddrinfo), addresses in its preferred order."""

    def resolve(self, host: str, port: int) -> Sequence[str]:
        infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
        return list(dict.fromkeys(str(info[4][0]) for info in infos))


class PinnedBackend(httpcore.NetworkBackend):
    """Dials only addresses the SSRF rule allows, resolving each host once per connection."""

    def __init__(
        self,
        resolver: HostResolver,
        *,
        allow_private: bool,
        inner: httpcore.NetworkBackend | None = None,
    ) -> None:
        self._resolver = resolver
        self._allow_private = allow_private
        self._inner = inner or httpcore.SyncBackend()

    def connect_tcp(
        self,
        host: str,
        port: int,
        timeout: float | None = None,
        local_address: str | None = None,
        socket_options: Iterable[httpcore.SOCKET_OPTION] | None = None,
    ) -> httpcore.NetworkStream:
        failure: Exception = httpcore.ConnectError(f"{host} has no usable address")
        for address in self._allowed_addresses(host, port):
            try:
                stream = self._inner.connect_tcp(
                    str(address), port, timeout, local_address, socket_options
                )
            except (httpcore.ConnectError, httpcore.ConnectTimeout) as exc:
                failure = exc
                continue
            peer = stream.get_extra_info("server_addr")
            try:
                check_address(str(peer[0]), allow_private=self._allow_private)
            except Exception:
                stream.close()
                raise
            return stream
        raise failure

    def _allowed_addresses(self, host: str, port: int) -> list[IPAddress]:
        literal = literal_address(host.strip("[]").rstrip("."))
        if literal is not None:
            found: Sequence[str] = [str(literal)]
        else:
            try:
                found = self._resolver.resolve(host, port)
            except OSError as exc:
                raise httpcore.ConnectError(f"{host} does not resolve: {exc}") from None
        # Every answer must pass, not just the one dialled: a mixed answer is an attack.
        return [check_address(a, allow_private=self._allow_private) for a in found]

    def connect_unix_socket(
        self,
        path: str,
        timeout: float | None = None,
        socket_options: Iterable[httpcore.SOCKET_OPTION] | None = None,
    ) -> httpcore.NetworkStream:
        raise httpcore.ConnectError("webhooks are never sent over Unix sockets")

    def sleep(self, seconds: float) -> None:
        self._inner.sleep(seconds)


class PinnedTransport(httpx.HTTPTransport):
    def __init__(
        self,
        resolver: HostResolver,
        *,
        allow_private: bool,
        verify: ssl.SSLContext | bool = True,
    ) -> None:
        super().__init__(verify=verify, trust_env=False)
        context = verify if isinstance(verify, ssl.SSLContext) else httpx.create_ssl_context(verify)
        self._pool = httpcore.ConnectionPool(
            ssl_context=context,
            network_backend=PinnedBackend(resolver, allow_private=allow_private),
        )


def webhook_client(
    resolver: HostResolver,
    *,
    allow_private: bool,
    timeout: float = DELIVERY_TIMEOUT_SECONDS,
    verify: ssl.SSLContext | bool = True,
) -> httpx.Client:
    """The one client deliveries go through: pinned addresses, no redirects, no proxies."""
    return httpx.Client(
        transport=PinnedTransport(resolver, allow_private=allow_private, verify=verify),
        timeout=httpx.Timeout(timeout),
        follow_redirects=False,
        trust_env=False,
        headers={"user-agent": USER_AGENT},
    )


class HttpWebhookSender:
    """The `WebhookSender` port over a `webhook_client`. Reads the status, never the body."""

    def __init__(self, client: httpx.Client) -> None:
        self._client = client

    def send(self, url: str, headers: dict[str, str], body: bytes) -> SendResult:
        started = time.monotonic()
        status: int | None = None
        error: str | None = None
        try:
            with self._client.stream("POST", url, headers=headers, content=body) as response:
                status = response.status_code
        except InvalidWebhookUrl as exc:
            error = f"refused: {exc.detail}"
            # The URL may carry the caller's own tokens in its query: log the host only.
            log.warning(
                "webhook delivery refused", extra={"host": _host(url), "reason": exc.detail}
            )
        except httpx.TimeoutException:
            error = "timeout"
        except httpx.HTTPError as exc:
            error = f"connection error: {type(exc).__name__}"
        duration_ms = int((time.monotonic() - started) * 1000)
        return SendResult(status_code=status, error=error, duration_ms=duration_ms)

    def close(self) -> None:
        self._client.close()


def _host(url: str) -> str:
    try:
        return urlsplit(url).hostname or ""
    except ValueError:
        return ""
