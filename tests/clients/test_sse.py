"""The event-stream parser and `jobs.stream`, on canned bytes shaped like DESIGN's contract."""

from __future__ import annotations

import asyncio
import json

import httpx
import pytest
from imagegate_client import AsyncClient, Client, NotFound
from imagegate_client.sse import EventParser


def job(status: str, position: int | None = None) -> dict[str, object]:
    return {
        "id": "job_1",
        "status": status,
        "created_at": "2026-01-01T00:00:00.000Z",
        "request": {"prompt": "p", "n": 1},
        "credits": {"charged": 1, "refunded": 0},
        "images": [{"url": "/v1/jobs/job_1/images/0", "content_type": "image/png", "bytes": 3}]
        if status == "succeeded"
        else [],
        "error": None,
        "queue": {"position": position, "eta_seconds": None} if position is not None else None,
    }


def event(version: int, body: dict[str, object]) -> bytes:
    return f"event: job\nid: {version}\ndata: {json.dumps(body)}\n\n".encode()


STREAM = b"".join(
    [
        event(1, job("queued", 2)),
        b": ping\n\n",
        event(2, job("queued", 0)),
        event(3, job("running")),
        event(4, job("succeeded")),
    ]
)


def test_events_split_anywhere_come_out_whole_and_pings_are_dropped() -> None:
    parser = EventParser()
    events = [e for i in range(0, len(STREAM), 7) for e in parser.feed(STREAM[i : i + 7])]
    assert [e.id for e in events] == ["1", "2", "3", "4"]
    assert {e.event for e in events} == {"job"}
    assert json.loads(events[0].data)["queue"]["position"] == 2
    assert parser.last_event_id == "4"


def test_crlf_line_ends_and_multi_line_data() -> None:
    parser = EventParser()
    events = list(parser.feed(b'event: job\r\ndata: {"a":\r\ndata: 1}\r\n\r'))
    assert events == []  # a CR at the end may be half of CRLF
    events = list(parser.feed(b"\n"))
    assert [json.loads(e.data) for e in events] == [{"a": 1}]


def serve(stream: bytes, status: int = 200) -> httpx.MockTransport:
    def handler(request: httpx.Request) -> httpx.Response:
        assert request.headers["accept"] == "text/event-stream"
        assert request.headers["authorization"] == "Bearer ig_test"
        if status != 200:
            return httpx.Response(status, json={"code": "not_found", "detail": "no such job"})
        return httpx.Response(200, content=stream, headers={"content-type": "text/event-stream"})

    return httpx.MockTransport(handler)


def test_stream_yields_each_state_and_ends_at_the_terminal_one() -> None:
    extra = event(5, job("failed"))  # after the terminal event: never read
    with Client("http://imagegate.test", "ig_test", transport=serve(STREAM + extra)) as client:
        states = [(j.status, j.queue_position) for j in client.jobs.stream("job_1")]
    assert states == [("queued", 2), ("queued", 0), ("running", None), ("succeeded", None)]


def test_stream_of_an_unknown_job_raises_not_found() -> None:
    client = Client("http://imagegate.test", "ig_test", transport=serve(b"", status=404))
    with pytest.raises(NotFound):
        list(client.jobs.stream("job_1"))


def test_waiting_uses_the_stream_when_the_server_has_one() -> None:
    with Client("http://imagegate.test", "ig_test", transport=serve(STREAM)) as client:
        seen: list[str] = []
        done = client.jobs.wait("job_1", on_update=lambda j: seen.append(j.status))
    assert done.status == "succeeded"
    assert seen == ["queued", "queued", "running", "succeeded"]


def test_the_async_client_waits_on_the_stream_too() -> None:
    async def wait() -> list[str]:
        seen: list[str] = []
        async with AsyncClient(
            "http://imagegate.test", "ig_test", transport=serve(STREAM)
        ) as client:
            done = await client.jobs.wait("job_1", on_update=lambda j: seen.append(j.status))
            assert done.status == "succeeded"
        return seen

    assert asyncio.run(wait()) == ["queued", "queued", "running", "succeeded"]
