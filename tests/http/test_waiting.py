"""`Prefer: wait` through the edge, woken by the change hub (an in-memory one here), and the
per-key caps: waiters have their own cap and give back their concurrent-request slot."""

from __future__ import annotations

import asyncio
import dataclasses
from collections.abc import AsyncIterator

import httpx
import pytest

from domain.models import JobStatus
from entrypoints.http.app import create_app
from tests.fakes.clock import FrozenClock
from tests.fakes.lifecycle import MemoryChanges
from tests.http.conftest import SETTINGS, Fakes, bearer

pytestmark = pytest.mark.anyio
Client = httpx.AsyncClient
BODY = {"prompt": "a cat", "model": "placeholder"}


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


async def _client(fakes: Fakes, **settings: object) -> AsyncIterator[Client]:
    app = create_app(
        dataclasses.replace(SETTINGS, **settings),  # type: ignore[arg-type]
        container_factory=fakes.container,
        clock=FrozenClock(),
    )
    # httpx's ASGI transport runs the app on this loop, so requests really overlap (the
    # Litestar test clients run each request to its end through a blocking portal).
    transport = httpx.ASGITransport(app=app)
    async with (
        app.lifespan(),
        httpx.AsyncClient(transport=transport, base_url="http://t") as client,
    ):
        yield client


@pytest.fixture
async def client(fakes: Fakes) -> AsyncIterator[Client]:
    fakes.changes = MemoryChanges(max_waiters_per_key=2)  # the hub owns the waiter cap
    async for client in _client(fakes, max_requests_per_key=1):
        yield client


async def _mint(client: Client) -> str:
    answer = await client.post("/v1/keys")
    assert answer.status_code == 201
    client.cookies.clear()
    return str(answer.json()["key"])


async def _until(condition: object, timeout: float = 5.0) -> None:
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while not condition():  # type: ignore[operator]
        assert loop.time() < deadline, "condition not met in time"
        await asyncio.sleep(0.01)


def _finish(fakes: Fakes, job_id: str) -> None:
    job = fakes.jobs.jobs[job_id]
    fakes.jobs.jobs[job_id] = job.evolve(status=JobStatus.SUCCEEDED, version=job.version + 1)
    fakes.changes.notify(job_id, job.version + 1)


async def test_a_long_poll_is_woken_by_the_change_and_leaves_the_request_slots_alone(
    client: Client, fakes: Fakes
) -> None:
    key = await _mint(client)
    submitted = await client.post("/v1/images/generations", json=BODY, headers=bearer(key))
    assert submitted.status_code == 202
    job_id = submitted.json()["id"]
    poll = asyncio.create_task(
        client.get(f"/v1/jobs/{job_id}", headers={**bearer(key), "Prefer": "wait=90"})
    )
    await _until(lambda: fakes.changes.waiting == 1)
    # A waiter counts against the waiters' cap, not the one ordinary-request slot: the same
    # key still reads.
    assert (await client.get(f"/v1/jobs/{job_id}", headers=bearer(key))).status_code == 200
    _finish(fakes, job_id)
    answer = await poll
    assert answer.status_code == 200
    assert answer.json()["status"] == "succeeded"
    assert answer.headers["Preference-Applied"] == "wait=60"  # above 60 is taken as 60


async def test_past_the_waiter_cap_a_long_poll_is_429_too_many_waiters(
    client: Client, fakes: Fakes
) -> None:
    key = await _mint(client)
    submitted = await client.post("/v1/images/generations", json=BODY, headers=bearer(key))
    job_id = submitted.json()["id"]
    wait = {**bearer(key), "Prefer": "wait=30"}
    polls = [asyncio.create_task(client.get(f"/v1/jobs/{job_id}", headers=wait)) for _ in range(2)]
    await _until(lambda: fakes.changes.waiting == 2)
    refused = await client.get(f"/v1/jobs/{job_id}", headers=wait)
    assert refused.status_code == 429
    assert refused.json()["code"] == "too_many_waiters"
    _finish(fakes, job_id)
    assert [(await p).status_code for p in polls] == [200, 200]


async def test_submit_with_prefer_wait_answers_200_once_finished_else_202(
    client: Client, fakes: Fakes
) -> None:
    key = await _mint(client)
    headers = {**bearer(key), "Prefer": "wait=5"}
    submit = asyncio.create_task(client.post("/v1/images/generations", json=BODY, headers=headers))
    await _until(lambda: fakes.changes.waiting == 1)
    (job_id,) = fakes.jobs.jobs
    _finish(fakes, job_id)
    done = await submit
    assert done.status_code == 200
    assert done.json()["status"] == "succeeded"
    assert done.headers["Preference-Applied"] == "wait=5"
    quick = {**bearer(key), "Prefer": "wait=0.05"}
    still = await client.post("/v1/images/generations", json=BODY, headers=quick)
    assert still.status_code == 202
    assert still.json()["status"] == "queued"
    assert still.headers["Location"].startswith("/v1/jobs/")
