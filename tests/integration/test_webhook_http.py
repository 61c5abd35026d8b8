"""Deliveries over real HTTP to loopback receivers, through the address-pinning client."""

from __future__ import annotations

import datetime as dt
import logging
import socket
import ssl
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, HTTPServer
from pathlib import Path

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID
from standardwebhooks import Webhook
from standardwebhooks.webhooks import WebhookVerificationError

from adapters.clock import SystemClock
from adapters.webhook_http import HttpWebhookSender, SystemResolver, webhook_client
from domain.webhook_delivery import Attempt, Decision, Outcome, RetryPolicy, deliver_once
from domain.webhook_signing import derive_secret
from domain.webhook_urls import HostResolver, validate_webhook_url
from tests.fakes.table_resolver import TableResolver
from tests.fakes.webhook_receiver import webhook_receiver
from tests.ports import free_port

MASTER = "test-master-signing-key"
SECRET_A = derive_secret(MASTER, "key_a")
BODY = b'{"type":"job.succeeded","timestamp":"2026-01-15T12:00:00.000Z","data":{"id":"job_1"}}'
POLICY = RetryPolicy(max_attempts=5, base_seconds=0.01)


def sender(
    resolver: HostResolver | None = None,
    *,
    allow_private: bool,
    timeout: float = 10.0,
    verify: ssl.SSLContext | bool = True,
) -> HttpWebhookSender:
    client = webhook_client(
        resolver or SystemResolver(), allow_private=allow_private, timeout=timeout, verify=verify
    )
    return HttpWebhookSender(client)


def attempt(url: str, via: HttpWebhookSender, number: int = 1) -> tuple[Attempt, Decision]:
    return deliver_once(
        url=url,
        webhook_id="msg_test1",
        body=BODY,
        secret=SECRET_A,
        attempt_number=number,
        sender=via,
        clock=SystemClock(),
        policy=POLICY,
    )


def test_a_receiver_verifies_with_standardwebhooks_and_retries_keep_the_id() -> None:
    with webhook_receiver([500, 500, 200]) as receiver:
        via = sender(allow_private=True)
        outcomes = [attempt(receiver.url, via, n)[1].outcome for n in (1, 2, 3)]
    assert outcomes == [Outcome.RETRY, Outcome.RETRY, Outcome.DELIVERED]
    assert {r.headers["webhook-id"] for r in receiver.received} == {"msg_test1"}
    for got in receiver.received:
        assert Webhook(SECRET_A).verify(got.body, got.headers)["data"] == {"id": "job_1"}
        assert got.headers["content-type"] == "application/json"
        with pytest.raises(WebhookVerificationError):
            Webhook(derive_secret(MASTER, "key_b")).verify(got.body, got.headers)


def test_a_redirect_is_not_followed() -> None:
    with webhook_receiver([302], headers={"location": "http://127.0.0.1:1/elsewhere"}) as receiver:
        record, decision = attempt(receiver.url, sender(allow_private=True))
    assert len(receiver.received) == 1
    assert (record.status_code, record.error) == (302, "HTTP 302")
    assert decision.outcome is Outcome.RETRY


def test_410_stops() -> None:
    with webhook_receiver([410]) as receiver:
        _, decision = attempt(receiver.url, sender(allow_private=True))
    assert decision.outcome is Outcome.STOPPED


def test_a_receiver_that_is_down_is_a_connection_error_to_retry() -> None:
    port = free_port()  # nothing listens there
    record, decision = attempt(f"http://127.0.0.1:{port}/", sender(allow_private=True))
    assert record.status_code is None
    assert record.error is not None
    assert record.error.startswith("connection error")
    assert decision.outcome is Outcome.RETRY


def test_a_receiver_that_never_answers_times_out() -> None:
    with socket.socket() as silent:
        silent.bind(("127.0.0.1", 0))
        silent.listen()  # accepts into the backlog, never answers
        url = f"http://127.0.0.1:{silent.getsockname()[1]}/"
        record, decision = attempt(url, sender(allow_private=True, timeout=0.3))
    assert (record.status_code, record.error) == (None, "timeout")
    assert decision.outcome is Outcome.RETRY


def test_rebinding_to_loopback_between_submit_and_delivery_is_refused_and_logged(
    caplog: pytest.LogCaptureFixture,
) -> None:
    with webhook_receiver([200]) as receiver:
        port = receiver.url.split(":")[2].split("/")[0]
        url = f"https://rebind.example.com:{port}/hooks"
        resolver = TableResolver({"rebind.example.com": [["93.184.216.34"], ["127.0.0.1"]]})
        validate_webhook_url(url, resolver=resolver, allow_private=False)  # submit: global
        with caplog.at_level(logging.WARNING, logger="imagegate.webhooks"):
            record, decision = attempt(url, sender(resolver, allow_private=False))
    assert receiver.received == []
    assert record.status_code is None
    assert record.error is not None
    assert "127.0.0.1" in record.error
    assert "loopback" in record.error
    assert decision.outcome is Outcome.RETRY
    assert any(r.getMessage() == "webhook delivery refused" for r in caplog.records)
    assert all("/hooks" not in r.getMessage() for r in caplog.records)


def test_one_bad_answer_among_good_ones_is_refused() -> None:
    resolver = TableResolver({"mixed.example.com": [["93.184.216.34", "10.0.0.1"]]})
    record, _ = attempt("https://mixed.example.com/", sender(resolver, allow_private=False))
    assert record.error is not None
    assert "10.0.0.1" in record.error


def test_literal_numeric_hosts_are_checked_without_allow_private() -> None:
    with webhook_receiver([200]) as receiver:
        port = receiver.url.split(":")[2].split("/")[0]
        record, _ = attempt(f"http://2130706433:{port}/", sender(allow_private=False))
    assert receiver.received == []
    assert record.error is not None
    assert record.error.startswith("refused")


# TLS: the client dials the pinned address but verifies the certificate for the hostname.


def self_signed(tmp_path: Path, name: str) -> tuple[Path, Path]:
    key = ec.generate_private_key(ec.SECP256R1())
    subject = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, name)])
    now = dt.datetime.now(dt.UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(subject)
        .issuer_name(subject)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(minutes=5))
        .not_valid_after(now + dt.timedelta(hours=1))
        .add_extension(x509.SubjectAlternativeName([x509.DNSName(name)]), critical=False)
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .sign(key, hashes.SHA256())
    )
    cert_path, key_path = tmp_path / f"{name}.pem", tmp_path / f"{name}.key"
    cert_path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_path.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    return cert_path, key_path


@pytest.fixture
def tls_receiver(tmp_path: Path) -> Iterator[tuple[int, Path, list[str]]]:
    cert, key = self_signed(tmp_path, "hooks.test")
    hosts: list[str] = []

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            hosts.append(self.headers["host"])
            self.rfile.read(int(self.headers["content-length"]))
            self.send_response(204)
            self.end_headers()

        def log_message(self, format: str, *args: object) -> None:
            pass

    server = HTTPServer(("127.0.0.1", 0), Handler)
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(cert, key)
    server.socket = context.wrap_socket(server.socket, server_side=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield server.server_address[1], cert, hosts
    finally:
        server.shutdown()
        server.server_close()
        thread.join()


def test_tls_is_verified_for_the_hostname_while_the_address_is_pinned(
    tls_receiver: tuple[int, Path, list[str]], tmp_path: Path
) -> None:
    port, cert, hosts = tls_receiver
    resolver = TableResolver({"hooks.test": [["127.0.0.1"]], "other.test": [["127.0.0.1"]]})
    trusted = ssl.create_default_context(cafile=str(cert))
    via = sender(resolver, allow_private=True, verify=trusted)
    record, decision = attempt(f"https://hooks.test:{port}/in", via)
    assert (record.status_code, decision.outcome) == (204, Outcome.DELIVERED)
    assert hosts == [f"hooks.test:{port}"]
    # The same address under a name the certificate does not cover: verification fails.
    record, _ = attempt(f"https://other.test:{port}/in", via)
    assert record.status_code is None
    assert hosts == [f"hooks.test:{port}"]
