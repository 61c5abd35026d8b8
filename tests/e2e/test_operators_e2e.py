"""Operators through real processes (uvicorn, a Celery worker, Valkey, the `imagegate keys`
command): a plans file with a self-serve `free` plan and a `pro` plan, DESIGN's example
pricing, the operator API behind ADMIN_TOKEN, and the ledger summing to the balance."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import httpx

from tests.e2e.stack import Stack, free_port, wait_until

TOKEN = "adm_e2e_token_not_a_secret"
ADMIN = {"authorization": f"Bearer {TOKEN}"}
PLANS = """
[plans.free]
credits = 20
refill = { interval = "daily", amount = 20 }
self_serve = true

[plans.pro]
credits = 500
refill = { interval = "monthly", amount = 500, day = 1 }

[pricing]
quality = { low = 1, medium = 2, high = 4, auto = 2 }
size = { "1024x1024" = 1, "1536x1024" = 1.5, "1024x1536" = 1.5, auto = 1.5 }
"""
PRICED = {"prompt": "a lighthouse at dusk", "n": 2, "quality": "high", "size": "1536x1024"}


def bearer(key: str) -> dict[str, str]:
    return {"authorization": f"Bearer {key}"}


def keys_command(stack: Stack, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "entrypoints.cli", "keys", *args],
        env=stack.env, cwd=stack.workdir, capture_output=True, text=True, timeout=60,
    )  # fmt: skip


def remaining(client: httpx.Client, key: str) -> int:
    return int(client.get("/v1/me", headers=bearer(key)).json()["credits"]["remaining"])


def test_operators_price_issue_top_up_and_account_for_every_credit(
    make_stack, tmp_path: Path
) -> None:  # type: ignore[no-untyped-def]
    plans = tmp_path / "plans.toml"
    plans.write_text(PLANS)
    stack: Stack = make_stack({"PLANS_FILE": str(plans), "ADMIN_TOKEN": TOKEN})
    stack.start_api()
    with stack.client() as client:
        created = client.post("/v1/admin/keys", json={"plan": "pro", "name": "acme"}, headers=ADMIN)
        assert created.status_code == 201, created.text
        key, key_id = created.json()["key"], created.json()["key_id"]

        command = keys_command(stack, "--json", "create", "--plan", "pro", "--external-id", "c1")
        assert command.returncode == 0, command.stderr
        cli_key = json.loads(command.stdout)
        assert cli_key["plan"] == "pro" and cli_key["remaining"] == 500
        listed = keys_command(stack, "list", "--plan", "pro")
        assert key_id in listed.stdout and cli_key["key_id"] in listed.stdout
        assert key not in listed.stdout and cli_key["key"] not in listed.stdout

        quote = client.post("/v1/quotes", json=PRICED, headers=bearer(key))
        assert quote.json() == {"credits": 12, "remaining": 500, "affordable": True}
        assert remaining(client, key) == 500  # a quote spends nothing

        # No worker yet: the job stays queued, and a cancel refunds exactly what it charged.
        queued = client.post("/v1/images/generations", json=PRICED, headers=bearer(key)).json()
        assert queued["credits"]["charged"] == 12 and remaining(client, key) == 488
        canceled = client.post(f"/v1/jobs/{queued['id']}/cancel", headers=bearer(key))
        assert canceled.json()["credits"] == {"charged": 12, "refunded": 12}
        assert remaining(client, key) == 500

        stack.start_worker()
        job = client.post("/v1/images/generations", json=PRICED, headers=bearer(key)).json()
        wait_until(
            lambda: client.get(f"/v1/jobs/{job['id']}", headers=bearer(key)).json()["status"]
            == "succeeded",
            timeout=60, what="the priced job to succeed",
        )  # fmt: skip
        assert remaining(client, key) == 488

        topped = client.post(
            f"/v1/admin/keys/{key_id}/credits", json={"operation": "increment", "value": 30},
            headers=ADMIN,
        )  # fmt: skip
        assert topped.json() == {"remaining": 518}

        free_key = client.post("/v1/keys").json()["key"]
        client.cookies.clear()
        dear = {**PRICED, "n": 4}  # 24 credits on a 20-credit key
        refused = client.post("/v1/images/generations", json=dear, headers=bearer(free_key))
        assert refused.status_code == 429 and remaining(client, free_key) == 20

        for headers in ({}, bearer(key), bearer(free_key), {"authorization": "Bearer adm_no"}):
            assert client.get("/v1/admin/keys", headers=headers).status_code == 401

        usage = client.get(f"/v1/admin/keys/{key_id}/usage", headers=ADMIN).json()
        mine = client.get("/v1/me/usage", headers=bearer(key)).json()
        kinds = [e["kind"] for e in reversed(usage["data"])]
        assert kinds == ["mint", "charge", "refund", "charge", "increment"]
        assert sum(e["credits"] for e in usage["data"]) == 518 == remaining(client, key)
        assert mine == usage
        view = client.get(f"/v1/admin/keys/{key_id}", headers=ADMIN)
        assert key.startswith(view.json()["start"]) and key not in view.text

    for name in ("api", "worker"):
        for raw in (key, cli_key["key"], free_key):
            assert raw not in stack.log(name)


def test_without_a_self_serve_plan_minting_is_403(make_stack, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    plans = tmp_path / "plans.toml"
    plans.write_text("[plans.pro]\ncredits = 500\n")
    stack: Stack = make_stack({"PLANS_FILE": str(plans)})
    url = stack.start_api(port=free_port())
    with httpx.Client(base_url=url, timeout=30) as client:
        keys = client.post("/v1/keys")
        authorize = client.post("/authorize")
        admin = client.get("/v1/admin/keys", headers=ADMIN)  # no ADMIN_TOKEN: not there

    assert (keys.status_code, keys.json()["code"]) == (403, "self_serve_disabled")
    assert (authorize.status_code, authorize.json()["code"]) == (403, "self_serve_disabled")
    assert admin.status_code == 404
