"""Helpers for the job lifecycle tests through real processes: an SSE reader, keys, jobs."""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import httpx
import redis

from tests.e2e.stack import Stack
from tests.e2e.test_flow import bearer, mint

__all__ = ["BODY", "Event", "balance", "bearer", "events", "job", "mint", "submit"]

BODY = {"prompt": "a lighthouse", "size": "256x256"}


@dataclass(frozen=True)
class Event:
    id: str
    name: str
    job: dict[str, Any]


def submit(client: httpx.Client, key: str, **headers: str) -> dict[str, Any]:
    answer = client.post("/v1/images/generations", json=BODY, headers={**bearer(key), **headers})
    assert answer.status_code in (200, 202), answer.text
    return dict(answer.json())


def balance(client: httpx.Client, key: str) -> int:
    return int(client.get("/v1/me", headers=bearer(key)).json()["credits"]["remaining"])


def job(client: httpx.Client, key: str, job_id: str) -> dict[str, Any]:
    answer = client.get(f"/v1/jobs/{job_id}", headers=bearer(key))
    assert answer.status_code == 200, answer.text
    return dict(answer.json())


def events(response: httpx.Response) -> Iterator[Event]:
    """The `job` events of a text/event-stream response, as they arrive; comments skipped."""
    fields: dict[str, str] = {}
    for line in response.iter_lines():
        if line == "":
            if "data" in fields:
                yield Event(
                    fields.get("id", ""), fields.get("event", ""), json.loads(fields["data"])
                )
            fields = {}
        elif not line.startswith(":"):
            name, _, value = line.partition(":")
            fields[name] = value.removeprefix(" ")


def event_order(event: Event) -> tuple[int, int]:
    version, _, update = event.id.partition("-")
    return int(version), int(update or 0)


def valkey_commands(stack: Stack) -> int:
    client = redis.Redis.from_url(stack.redis_url)
    try:
        return int(client.info("stats")["total_commands_processed"])
    finally:
        client.close()
