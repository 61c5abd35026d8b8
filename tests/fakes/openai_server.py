"""A fake OpenAI Images API on loopback, so the real `openai` SDK runs in tests (OPENAI.md).

`POST /v1/images/generations` answers like the real endpoint with real images (Pillow) of the
asked size and format. Every image differs per call, and its sha256 is recorded so a test can
compare what the service stores with what the fake served.

Control API (no auth; loopback only):
  POST /_fake/script  {"responses": [entry, ...]}  queue answers for the next calls
  POST /_fake/mode    entry                        the answer once the queue is empty
  POST /_fake/reset                                forget requests, stats, script and mode
  GET  /_fake/requests                             {"requests": [{body, headers, status, ...}]}
                                                   (`received_at`: the fake's monotonic clock, s)
  GET  /_fake/stats                                {"calls", "in_flight", "max_in_flight", ...}

An entry is {"kind": K, "times": 1, "delay": 0.0, ...}; kinds are in `ERRORS` plus `ok`,
`slow` (ok after `delay`, default 10 s), `malformed` (truncated JSON), `missing_b64`,
`wrong_format` and `custom` (`status`, `body`, `headers`). `rate_limited` takes `retry_after`
(header value; null omits it). "500 twice then success": [{"kind": "server_error", "times": 2}].

Run alone: python -m tests.fakes.openai_server --host 127.0.0.1 --port 0 --api-key K
"""

from __future__ import annotations

import argparse
import json
import sys
import threading
import time
from collections import deque
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from tests.fakes.openai_responses import (
    ERRORS,
    Answer,
    check_entry,
    error_body,
    refuse_params,
    scripted_error,
    success,
)

GENERATIONS_PATH = "/v1/images/generations"
READY_PREFIX = "fake-openai ready on "


class FakeOpenAIState:
    """Everything a test can script or read. All access under one lock."""

    def __init__(self, api_key: str) -> None:
        self.api_key = api_key
        self.lock = threading.Lock()
        self.stopping = threading.Event()
        self.reset()

    def reset(self) -> None:
        with self.lock:
            self.script: deque[dict[str, Any]] = deque()
            self.mode: dict[str, Any] = {"kind": "ok"}
            self.requests: list[dict[str, Any]] = []
            self.calls = 0
            self.in_flight = 0
            self.max_in_flight = 0

    def add_script(self, entries: list[dict[str, Any]]) -> None:
        for entry in entries:
            check_entry(entry)
        with self.lock:
            for entry in entries:
                self.script.extend([entry] * int(entry.get("times", 1)))

    def set_mode(self, entry: dict[str, Any]) -> None:
        check_entry(entry)
        with self.lock:
            self.mode = entry

    def begin(self, record: dict[str, Any]) -> int:
        with self.lock:
            self.calls += 1
            self.in_flight += 1
            self.max_in_flight = max(self.max_in_flight, self.in_flight)
            self.requests.append(record)
            return self.calls

    def end(self, record: dict[str, Any], status: int | None, sha256: list[str]) -> None:
        with self.lock:
            self.in_flight -= 1
            record.update(status=status, image_sha256=sha256)

    def snapshot(self) -> list[dict[str, Any]]:
        with self.lock:
            copied: list[dict[str, Any]] = json.loads(json.dumps(self.requests))
            return copied

    def next_entry(self) -> dict[str, Any]:
        with self.lock:
            return self.script.popleft() if self.script else self.mode

    def stats(self) -> dict[str, Any]:
        with self.lock:
            return {
                "calls": self.calls,
                "in_flight": self.in_flight,
                "max_in_flight": self.max_in_flight,
                "scripted_left": len(self.script),
                "images_served": sum(len(r["image_sha256"]) for r in self.requests),
            }


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server: _Server

    def log_message(self, format: str, *args: Any) -> None:  # quiet
        return

    def do_GET(self) -> None:
        state = self.server.state
        if self.path == "/_fake/requests":
            self._send(200, {"requests": state.snapshot()})
        elif self.path == "/_fake/stats":
            self._send(200, state.stats())
        else:
            self._send(404, error_body("Not found.", "invalid_request_error", None))

    def do_POST(self) -> None:
        raw = self.rfile.read(int(self.headers.get("Content-Length") or 0))
        state = self.server.state
        try:
            if self.path == GENERATIONS_PATH:
                self._generate(raw)
            elif self.path == "/_fake/script":
                state.add_script(json.loads(raw)["responses"])
                self._send(200, state.stats())
            elif self.path == "/_fake/mode":
                state.set_mode(json.loads(raw))
                self._send(200, state.stats())
            elif self.path == "/_fake/reset":
                state.reset()
                self._send(200, state.stats())
            else:
                self._send(404, error_body("Not found.", "invalid_request_error", None))
        except (BrokenPipeError, ConnectionResetError):
            pass  # the client gave up (a timeout test)
        except (ValueError, KeyError, TypeError) as exc:
            self._send(400, {"error": f"bad control request: {exc}"})

    def _generate(self, raw: bytes) -> None:
        state = self.server.state
        try:
            body: Any = json.loads(raw)
        except ValueError:
            body = None
        record: dict[str, Any] = {
            "path": self.path,
            "headers": {k.lower(): v for k, v in self.headers.items()},
            "body": body,
            "status": None,
            "image_sha256": [],
            "received_at": time.monotonic(),  # the fake's own clock: compare records, not hosts
        }
        call = state.begin(record)
        status: int | None = None
        served: list[str] = []  # sha256 of each image in the answer
        try:
            answer: Answer
            if self.headers.get("Authorization") != f"Bearer {state.api_key}":
                answer = (*ERRORS["unauthorized"], {})
            else:
                entry = state.next_entry()
                delay = float(entry.get("delay", 10.0 if entry["kind"] == "slow" else 0.0))
                if delay:
                    state.stopping.wait(delay)
                answer = _answer(entry, body, call, served)
            status = answer[0]
        finally:
            # Ended before the answer goes out: a client holding the answer may read the record
            # at once, or let the next request in (the concurrency tests count those in flight).
            state.end(record, status, served)
        self._send(*answer)

    def _send(self, status: int, payload: Any, headers: dict[str, str] | None = None) -> None:
        data = payload if isinstance(payload, bytes) else json.dumps(payload).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.send_header("x-request-id", f"req_fake_{time.monotonic_ns()}")
        for name, value in (headers or {}).items():
            self.send_header(name, value)
        self.end_headers()
        self.wfile.write(data)


def _answer(entry: dict[str, Any], body: Any, call: int, served: list[str]) -> Answer:
    if entry["kind"] in ERRORS or entry["kind"] == "custom":
        return scripted_error(entry)
    return refuse_params(body) or success(entry["kind"], body, call, served)


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True

    def __init__(self, address: tuple[str, int], state: FakeOpenAIState) -> None:
        super().__init__(address, _Handler)
        self.state = state

    def handle_error(self, request: Any, client_address: Any) -> None:
        if not isinstance(sys.exc_info()[1], ConnectionError):  # clients that gave up are normal
            super().handle_error(request, client_address)


class FakeOpenAIServer:
    """The fake in a background thread: `with FakeOpenAIServer(api_key=k) as fake: …`."""

    def __init__(self, *, api_key: str, host: str = "127.0.0.1", port: int = 0) -> None:
        self.state = FakeOpenAIState(api_key)
        self._httpd = _Server((host, port), self.state)
        self._thread = threading.Thread(
            target=self._httpd.serve_forever, args=(0.05,), name="fake-openai", daemon=True
        )

    @property
    def url(self) -> str:
        host, port = self._httpd.server_address[:2]
        return f"http://{host!s}:{port}"

    @property
    def base_url(self) -> str:
        return self.url + "/v1"

    def start(self) -> FakeOpenAIServer:
        self._thread.start()
        return self

    def stop(self) -> None:
        self.state.stopping.set()  # wake slow answers
        self._httpd.shutdown()
        self._httpd.server_close()
        self._thread.join(timeout=5)

    def __enter__(self) -> FakeOpenAIServer:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=0)
    parser.add_argument("--api-key", required=True)
    args = parser.parse_args(argv)
    server = FakeOpenAIServer(api_key=args.api_key, host=args.host, port=args.port)
    print(READY_PREFIX + server.base_url, flush=True)
    try:
        server._httpd.serve_forever()
    except KeyboardInterrupt:
        pass
    finally:
        server._httpd.server_close()


if __name__ == "__main__":
    main()
