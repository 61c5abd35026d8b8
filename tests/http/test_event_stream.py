"""The event stream's response body (entrypoints/http/event_stream.py) against a hand-driven
ASGI send/receive: the terminal event ends the body in one write, a client that goes away
ends the stream and gives its waiter back, and a shutdown's cancel is not swallowed."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncGenerator
from typing import Any

import pytest

from entrypoints.http.event_stream import _EventBody
from entrypoints.http.job_events import EventId, JobEvent

pytestmark = pytest.mark.anyio


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


class Events:
    """An event generator that records whether it was closed (its waiter given back)."""

    def __init__(self, *events: JobEvent, then_block: bool = False) -> None:
        self.events = events
        self.then_block = then_block
        self.closed = False

    async def __call__(self) -> AsyncGenerator[JobEvent, None]:
        try:
            for event in self.events:
                yield event
            if self.then_block:
                await asyncio.Event().wait()
        finally:
            self.closed = True


def _body(events: AsyncGenerator[JobEvent, None]) -> _EventBody:
    return _EventBody(events, media_type="text/event-stream", headers={})


class Client:
    def __init__(self) -> None:
        self.sent: list[dict[str, Any]] = []
        self.gone = asyncio.Event()

    async def send(self, message: Any) -> None:
        self.sent.append(message)

    async def receive(self) -> Any:
        await self.gone.wait()
        return {"type": "http.disconnect"}


async def test_the_terminal_event_ends_the_body_in_the_same_write() -> None:
    events = Events(JobEvent.of(EventId(1), '{"status":"queued"}'),
                    JobEvent.of(EventId(2), '{"status":"succeeded"}', last=True))  # fmt: skip
    client = Client()
    await _body(events()).send_body(client.send, client.receive)
    assert [(m["body"][:5], m["more_body"]) for m in client.sent] == [
        (b"id: 1", True),
        (b"id: 2", False),
    ]
    assert client.sent[1]["body"] == b'id: 2\r\nevent: job\r\ndata: {"status":"succeeded"}\r\n\r\n'
    assert events.closed


async def test_a_client_that_goes_away_ends_the_stream_and_its_waiter() -> None:
    events = Events(JobEvent.of(EventId(1), "{}"), then_block=True)
    client = Client()
    streaming = asyncio.create_task(_body(events()).send_body(client.send, client.receive))
    while not client.sent:
        await asyncio.sleep(0.001)
    client.gone.set()
    await asyncio.wait_for(streaming, 5)  # ends quietly: no CancelledError out of the route
    assert events.closed
    assert [m["more_body"] for m in client.sent] == [True]  # nothing sent after it left


async def test_a_cancel_from_elsewhere_is_not_taken_for_a_disconnect() -> None:
    events = Events(JobEvent.of(EventId(1), "{}"), then_block=True)
    client = Client()
    streaming = asyncio.create_task(_body(events()).send_body(client.send, client.receive))
    while not client.sent:
        await asyncio.sleep(0.001)
    streaming.cancel()  # the server shutting down
    with pytest.raises(asyncio.CancelledError):
        await streaming
    assert events.closed
