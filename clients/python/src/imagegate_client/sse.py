"""A sans-I/O Server-Sent Events parser (the WHATWG rules the job stream needs): feed it bytes
as they arrive, take out whole events. Comments (`: ping`) are dropped."""

from __future__ import annotations

from collections.abc import Iterator

from imagegate_client.models import Event


class EventParser:
    def __init__(self) -> None:
        self._buffer = b""
        self._event = ""
        self._data: list[str] = []
        self._id: str | None = None
        self.last_event_id: str | None = None

    def feed(self, chunk: bytes) -> Iterator[Event]:
        self._buffer += chunk
        while True:
            line, found = self._next_line()
            if not found:
                return
            event = self._line(line)
            if event is not None:
                yield event

    def _next_line(self) -> tuple[str, bool]:
        for index, byte in enumerate(self._buffer):
            if byte in b"\r\n":
                end = index + 1
                if byte == 0x0D:
                    if end == len(self._buffer):  # a lone CR may be half of CRLF: wait
                        return "", False
                    if self._buffer[end] == 0x0A:
                        end += 1
                line = self._buffer[:index].decode("utf-8", errors="replace")
                self._buffer = self._buffer[end:]
                return line, True
        return "", False

    def _line(self, line: str) -> Event | None:
        if not line:
            return self._dispatch()
        if line.startswith(":"):
            return None
        name, _, value = line.partition(":")
        value = value.removeprefix(" ")
        if name == "event":
            self._event = value
        elif name == "data":
            self._data.append(value)
        elif name == "id" and "\0" not in value:
            self._id = value
        return None

    def _dispatch(self) -> Event | None:
        if self._id is not None:
            self.last_event_id = self._id
        if not self._data:
            self._event = ""
            return None
        event = Event(event=self._event or "message", data="\n".join(self._data), id=self._id)
        self._event, self._data = "", []
        return event
