"""Webhooks through real processes: the API, `imagegate worker` (generations plus the webhook
consumer), the embedded Valkey and receivers on loopback. Every delivery is verified with the
`standardwebhooks` package exactly as a receiver would."""

from __future__ import annotations

import json
import socket
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import httpx
import pytest
from standardwebhooks import Webhook
from standardwebhooks.webhooks import WebhookVerificationError

from tests.e2e.stack import Stack, free_port, wait_until
from tests.fakes.webhook_receiver import Receiver, webhook_receiver

WEBHOOK_ENV = {
    "WEBHOOK_SIGNING_KEY": "e2e-test-signing-key",
    "WEBHOOK_ALLOW_PRIVATE": "true",  # the receivers are on loopback
    "WEBHOOK_RETRY_BASE_SECONDS": "0.2",
    "WEBHOOK_MAX_ATTEMPTS": "4",
    "SWEEP_INTERVAL_SECONDS": "0.2",
}
GENERATION_ONLY = Path(__file__).with_name("generation_only_worker.py")


def mint(client: httpx.Client) -> str:
    answer = client.post("/v1/keys")
    assert answer.status_code == 201
    client.cookies.clear()
    return str(answer.json()["key"])


def auth(key: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {key}"}


def submit(client: httpx.Client, key: str, url: str, **extra: Any) -> str:
    body = {"prompt": "a lighthouse", "webhook": {"url": url, **extra}}
    answer = client.post("/v1/images/generations", json=body, headers=auth(key))
    assert answer.status_code == 202, answer.text
    return str(answer.json()["id"])


def secret_of(client: httpx.Client, key: str) -> str:
    return str(client.get("/v1/webhooks/secret", headers=auth(key)).json()["key"])


def deliveries(client: httpx.Client, key: str, job_id: str) -> list[dict[str, Any]]:
    answer = client.get(f"/v1/jobs/{job_id}/webhooks", headers=auth(key))
    assert answer.status_code == 200, answer.text
    return list(answer.json()["data"])


def settled(client: httpx.Client, key: str, job_id: str, attempts: int) -> dict[str, Any] | None:
    """The job's one delivery once it has `attempts` attempts and nothing more is due."""
    found = deliveries(client, key, job_id)
    if (
        len(found) == 1
        and len(found[0]["attempts"]) == attempts
        and not found[0]["next_attempt_at"]
    ):
        return found[0]
    return None


def wait_for_success(client: httpx.Client, key: str, job_id: str) -> None:
    wait_until(
        lambda: client.get(f"/v1/jobs/{job_id}", headers=auth(key)).json()["status"] == "succeeded",
        timeout=60,
        what="the job to end",
    )


def ended_unseen(stack: Stack, client: httpx.Client, url: str) -> tuple[str, str]:
    """A key and its job that succeeded with a webhook while no webhook consumer ran: its event
    is only the note its transition left in Valkey (the generation-only worker is gone)."""
    stack._spawn("generation", "worker", launcher=GENERATION_ONLY)
    key = mint(client)
    job_id = submit(client, key, url)
    wait_for_success(client, key, job_id)
    stack.kill("generation")
    return key, job_id


@pytest.fixture
def hooks(make_stack) -> Stack:  # type: ignore[no-untyped-def]
    running: Stack = make_stack(WEBHOOK_ENV)
    running.start_api()
    running.start_worker()
    return running


def test_500_500_200_is_three_signed_attempts_of_one_delivery_all_logged(hooks: Stack) -> None:
    with webhook_receiver([500, 500, 200]) as receiver, hooks.client() as client:
        key, other = mint(client), mint(client)
        job_id = submit(client, key, receiver.url)
        delivery = wait_until(
            lambda: settled(client, key, job_id, 3), timeout=60, what="three attempts"
        )
        job = client.get(f"/v1/jobs/{job_id}", headers=auth(key)).json()
        mine, theirs = secret_of(client, key), secret_of(client, other)
    assert [a["status_code"] for a in delivery["attempts"]] == [500, 500, 200]
    assert delivery["event"] == "job.succeeded" and delivery["delivered_at"]
    assert [r.headers["webhook-id"] for r in receiver.received] == [delivery["id"]] * 3
    for got in receiver.received:
        payload = Webhook(mine).verify(got.body, got.headers)
        assert payload["type"] == "job.succeeded"
        assert payload["data"] == job  # the job resource exactly as GET renders it
        with pytest.raises(WebhookVerificationError):
            Webhook(theirs).verify(got.body, got.headers)


def test_running_and_completed_events_when_both_are_asked_for(hooks: Stack) -> None:
    with webhook_receiver([200]) as receiver, hooks.client() as client:
        key = mint(client)
        job_id = submit(client, key, receiver.url, events=["running", "completed"])
        wait_until(
            lambda: (
                sorted(d["event"] for d in deliveries(client, key, job_id) if d["delivered_at"])
                == ["job.running", "job.succeeded"]
            ),
            timeout=60,
            what="both events delivered",
        )
    assert sorted(json.loads(r.body)["type"] for r in receiver.received) == [
        "job.running",
        "job.succeeded",
    ]


def test_a_redirect_is_not_followed_and_410_stops_at_once(hooks: Stack) -> None:
    with (
        webhook_receiver([200]) as target,
        webhook_receiver([302], headers={"location": "TARGET"}) as redirecting,
        webhook_receiver([410]) as gone,
        hooks.client() as client,
    ):
        redirecting.extra_headers["location"] = target.url
        key = mint(client)
        redirected = submit(client, key, redirecting.url)
        stopped = submit(client, key, gone.url)
        spent = wait_until(
            lambda: settled(client, key, redirected, 4), timeout=60, what="attempts spent"
        )
        final = wait_until(lambda: settled(client, key, stopped, 1), timeout=60, what="a 410")
        redeliver = client.post(
            f"/v1/jobs/{stopped}/webhooks/{final['id']}/redeliver", headers=auth(key)
        )
        assert redeliver.status_code == 202
        again = wait_until(lambda: settled(client, key, stopped, 2), timeout=60, what="redeliver")
    assert [a["status_code"] for a in spent["attempts"]] == [302] * 4
    assert spent["delivered_at"] is None
    assert target.received == []  # the Location was never followed
    assert [a["status_code"] for a in again["attempts"]] == [410, 410]
    assert len(gone.received) == 2
    assert {r.headers["webhook-id"] for r in gone.received} == {final["id"]}


def test_a_redelivery_is_sent_at_once_not_at_the_next_sweep(make_stack) -> None:  # type: ignore[no-untyped-def]
    # No sweeper tick within the test: only the kicks (a finished job's, the redeliver's) run
    # delivery passes.
    stack: Stack = make_stack({**WEBHOOK_ENV, "SWEEP_INTERVAL_SECONDS": "3600"})
    stack.start_api()
    stack.start_worker()
    with webhook_receiver([410, 200]) as receiver, stack.client() as client:
        key = mint(client)
        job_id = submit(client, key, receiver.url)
        stopped = wait_until(lambda: settled(client, key, job_id, 1), timeout=60, what="a 410")
        answer = client.post(
            f"/v1/jobs/{job_id}/webhooks/{stopped['id']}/redeliver", headers=auth(key)
        )
        assert answer.status_code == 202
        again = wait_until(lambda: settled(client, key, job_id, 2), timeout=60, what="redeliver")
    assert [a["status_code"] for a in again["attempts"]] == [410, 200]
    assert again["delivered_at"] and again["id"] == stopped["id"]
    assert [r.headers["webhook-id"] for r in receiver.received] == [stopped["id"]] * 2


def test_a_receiver_down_for_a_while_gets_the_event_once_it_is_back(make_stack) -> None:  # type: ignore[no-untyped-def]
    stack: Stack = make_stack({**WEBHOOK_ENV, "WEBHOOK_MAX_ATTEMPTS": "8"})
    stack.start_api()
    stack.start_worker()
    port = free_port()
    with stack.client() as client:
        key = mint(client)
        job_id = submit(client, key, f"http://127.0.0.1:{port}/hooks")

        def failed_twice() -> bool:
            found = deliveries(client, key, job_id)
            return bool(found) and len(found[0]["attempts"]) >= 2

        wait_until(failed_twice, timeout=60, what="attempts at a receiver that is down")
        with webhook_receiver([200], port=port) as receiver:
            delivered = wait_until(
                lambda: [d for d in deliveries(client, key, job_id) if d["delivered_at"]],
                timeout=60,
                what="delivery once the receiver is back",
            )
    assert delivered[0]["attempts"][0]["error"].startswith("connection error")
    assert delivered[0]["attempts"][-1]["status_code"] == 200
    assert len(receiver.received) == 1


@contextmanager
def hanging_receiver() -> Iterator[tuple[str, list[socket.socket]]]:
    """Accepts connections and never answers."""
    server = socket.create_server(("127.0.0.1", 0))
    held: list[socket.socket] = []
    stop = threading.Event()

    def accept() -> None:
        server.settimeout(0.1)
        while not stop.is_set():
            try:
                held.append(server.accept()[0])
            except TimeoutError:
                continue

    thread = threading.Thread(target=accept, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.getsockname()[1]}/hooks", held
    finally:
        stop.set()
        thread.join()
        for conn in held:
            conn.close()
        server.close()


def still_open(conn: socket.socket) -> bool:
    """The client has not given up on this connection (no EOF from it yet)."""
    conn.setblocking(False)
    try:
        return conn.recv(1 << 16, socket.MSG_PEEK) != b""
    except BlockingIOError:
        return True


def test_a_hanging_receiver_holds_no_generation_slot(make_stack) -> None:  # type: ignore[no-untyped-def]
    stack: Stack = make_stack({**WEBHOOK_ENV, "WORKER_CONCURRENCY": "2"})
    stack.start_api()
    stack.start_worker()
    with hanging_receiver() as (url, held), stack.client() as client:
        key = mint(client)
        for _ in range(3):
            submit(client, key, url)
        wait_until(lambda: len(held) >= 2, timeout=60, what="deliveries hanging")
        hung = held[:2]
        later = []
        for _ in range(4):
            answer = client.post("/v1/images/generations", json={"prompt": "p"}, headers=auth(key))
            later.append(answer.json()["id"])

        def all_succeeded() -> bool:
            return all(
                client.get(f"/v1/jobs/{j}", headers=auth(key)).json()["status"] == "succeeded"
                for j in later
            )

        wait_until(all_succeeded, timeout=60, what="other jobs to be generated")
        # Generation went on while those deliveries were still waiting on the receiver.
        assert any(still_open(conn) for conn in hung)


def test_a_worker_killed_after_the_job_ended_still_delivers(make_stack) -> None:  # type: ignore[no-untyped-def]
    stack: Stack = make_stack(WEBHOOK_ENV)
    stack.start_api()
    with webhook_receiver([200]) as receiver, stack.client() as client:
        key, job_id = ended_unseen(stack, client, receiver.url)
        assert receiver.received == [] and deliveries(client, key, job_id) == []
        stack.start_worker()
        wait_until(lambda: settled(client, key, job_id, 1), timeout=60, what="the delivery")
        secret = secret_of(client, key)
    assert len(receiver.received) == 1
    Webhook(secret).verify(receiver.received[0].body, receiver.received[0].headers)


@pytest.mark.parametrize(
    "host",
    ["127.0.0.1", "2130706433", "0x7f000001", "127.1", "[::ffff:127.0.0.1]", "localhost"],
)
def test_an_ssrf_target_is_refused_at_submit_without_a_connection(
    make_stack: Any, host: str
) -> None:
    stack: Stack = make_stack({**WEBHOOK_ENV, "WEBHOOK_ALLOW_PRIVATE": "false"})
    stack.start_api()
    with webhook_receiver([200]) as receiver, stack.client() as client:
        port = receiver.url.split(":")[2].split("/")[0]
        key = mint(client)
        body = {"prompt": "p", "webhook": {"url": f"https://{host}:{port}/hooks"}}
        answer = client.post("/v1/images/generations", json=body, headers=auth(key))
        me = client.get("/v1/me", headers=auth(key)).json()
    assert answer.status_code == 422
    assert answer.json()["code"] == "invalid_webhook_url"
    assert answer.json()["errors"][0]["field"] == "webhook.url"
    assert me["credits"]["remaining"] == 10
    assert receiver.received == []


_ = Receiver  # the receiver's type, for readers of the helpers above
