"""The API's job cache through real processes: a poll is never staler than a notification,
a poll right after a submit sees the job, and a stream whose client went away gives its
waiter back (the per-key waiter cap of 1 would refuse the next one otherwise)."""

from __future__ import annotations

import socket
import threading
import time

from tests.e2e.lifecycle_support import bearer, events, job, mint, submit
from tests.e2e.stack import Stack, wait_until

ORDER = {"queued": 0, "running": 1, "succeeded": 2}


def test_a_poll_after_a_change_reflects_it(make_stack) -> None:  # type: ignore[no-untyped-def]
    stack: Stack = make_stack({"PLACEHOLDER_DELAY_MS": "300"})
    stack.start_api()  # no worker yet
    with stack.client() as client:
        key = mint(client)
        job_id = submit(client, key)["id"]
        assert job(client, key, job_id)["status"] == "queued"  # right after submit: seen
        assert job(client, key, job_id)["status"] == "queued"  # … and now cached
        streaming = threading.Event()

        def keep_polling() -> None:  # keeps the cached record warm when the changes come
            with stack.client() as poller:
                while streaming.is_set():
                    job(poller, key, job_id)
                    time.sleep(0.02)

        with client.stream("GET", f"/v1/jobs/{job_id}/events", headers=bearer(key)) as stream:
            received = events(stream)
            assert next(received).job["status"] == "queued"
            streaming.set()
            polling = threading.Thread(target=keep_polling)
            polling.start()
            stack.start_worker()
            for event in received:
                # This API process has heard the change (its stream shows it), so a poll to
                # the same process must show it too (or a later one): the notification
                # dropped the cached job.
                polled = job(client, key, job_id)["status"]
                assert ORDER[polled] >= ORDER[event.job["status"]], (polled, event.job)
        streaming.clear()
        polling.join(timeout=10)
        assert job(client, key, job_id)["status"] == "succeeded"


def _open_stream(stack: Stack, key: str, job_id: str) -> tuple[socket.socket, bytes]:
    conn = socket.create_connection(("127.0.0.1", stack.port), timeout=10)
    conn.sendall(
        f"GET /v1/jobs/{job_id}/events HTTP/1.1\r\nHost: t\r\n"
        f"Authorization: Bearer {key}\r\n\r\n".encode()
    )
    head = b""
    while b"data:" not in head and b"\r\n\r\n{" not in head:
        chunk = conn.recv(65536)
        if not chunk:
            break
        head += chunk
    return conn, head


def test_a_stream_whose_client_left_gives_its_waiter_back(make_stack) -> None:  # type: ignore[no-untyped-def]
    stack: Stack = make_stack({"MAX_WAITERS_PER_KEY": "1"})
    stack.start_api()  # no worker: the job stays queued and the stream open
    with stack.client() as client:
        key = mint(client)
        job_id = submit(client, key)["id"]
    first, head = _open_stream(stack, key, job_id)
    assert head.startswith(b"HTTP/1.1 200"), head
    second, refused = _open_stream(stack, key, job_id)
    second.close()
    assert refused.startswith(b"HTTP/1.1 429"), refused  # the cap holds while it streams
    first.close()  # the client goes away without a word

    def admitted() -> bool:
        conn, answer = _open_stream(stack, key, job_id)
        conn.close()
        if answer.startswith(b"HTTP/1.1 429"):
            return False  # wait_until polls again
        assert answer.startswith(b"HTTP/1.1 200"), answer
        return True

    wait_until(admitted, timeout=10, what="the left stream's waiter to be given back")
