"""The response of `GET /v1/jobs/{id}/events`: the stream's `JobEvent`s, each one write.

Litestar's `Stream` runs every response in an anyio task group to notice a client that went
away, and tears it down with a cancel scope; over thousands of streams ending on one change
that was a sixth of the API's CPU (py-spy, `python -m bench.waiters --http`). Here a plain
task waits for `http.disconnect` and cancels the stream, and the terminal event ends the body
in the same write (`JobEvent.last`), so a stream's end costs one send, not two.
"""

from __future__ import annotations

import asyncio
import itertools
from collections.abc import AsyncGenerator, Iterable
from typing import TYPE_CHECKING, Any

from litestar.response import Stream
from litestar.response.base import ASGIResponse
from litestar.response.streaming import ASGIStreamingResponse

from entrypoints.http.job_events import JobEvent

if TYPE_CHECKING:
    from litestar.app import Litestar
    from litestar.background_tasks import BackgroundTask, BackgroundTasks
    from litestar.connection import Request
    from litestar.datastructures.cookie import Cookie
    from litestar.enums import MediaType
    from litestar.types import Receive, Send, TypeEncodersMap

MEDIA_TYPE = "text/event-stream"


async def _until_disconnect(receive: Receive) -> None:
    while (await receive())["type"] != "http.disconnect":
        pass


class _EventBody(ASGIStreamingResponse):
    def __init__(self, events: AsyncGenerator[JobEvent, None], **kwargs: Any) -> None:
        super().__init__(iterator=(), **kwargs)
        self.events = events

    async def send_body(self, send: Send, receive: Receive) -> None:
        stream = asyncio.current_task()
        if stream is None:
            raise RuntimeError("an event stream runs in a task")
        gone = asyncio.ensure_future(_until_disconnect(receive))
        gone.add_done_callback(lambda done: done.cancelled() or stream.cancel())
        try:
            async for event in self.events:
                await send({"type": "http.response.body", "body": event.encode(),
                            "more_body": not event.last})  # fmt: skip
                if event.last:
                    break
            else:
                await send({"type": "http.response.body", "body": b"", "more_body": False})
        except asyncio.CancelledError:
            if not gone.done() or gone.cancelled():
                raise  # cancelled from elsewhere (shutdown): not ours to swallow
            stream.uncancel()  # the client went away: end quietly
        finally:
            gone.cancel()
            await self.events.aclose()  # the waiter is given back now, not at GC


class EventStream(Stream):
    """A `Stream` of `JobEvent`s (an async generator of them)."""

    def __init__(self, events: AsyncGenerator[JobEvent, None], *, headers: dict[str, str]) -> None:
        super().__init__((), media_type=MEDIA_TYPE, headers=headers)
        self.events = events

    def to_asgi_response(
        self,
        app: Litestar | None,
        request: Request[Any, Any, Any],
        *,
        background: BackgroundTask | BackgroundTasks | None = None,
        cookies: Iterable[Cookie] | None = None,
        encoded_headers: Iterable[tuple[bytes, bytes]] | None = None,
        headers: dict[str, str] | None = None,
        is_head_response: bool = False,
        media_type: MediaType | str | None = None,
        status_code: int | None = None,
        type_encoders: TypeEncodersMap | None = None,
    ) -> ASGIResponse:
        del app, media_type, type_encoders  # as Stream's: the media type is ours
        return _EventBody(
            self.events,
            background=self.background or background,
            content_length=0,
            cookies=self.cookies if cookies is None else itertools.chain(self.cookies, cookies),
            encoded_headers=encoded_headers,
            encoding=self.encoding,
            headers={**headers, **self.headers} if headers is not None else self.headers,
            is_head_response=is_head_response,
            media_type=MEDIA_TYPE,
            status_code=self.status_code or status_code,
        )
