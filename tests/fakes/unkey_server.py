"""A fake Unkey v2 HTTP server (shared/UNKEY.md) for tests, on loopback.

Run it in a thread (`FakeUnkeyServer(...).start()`) or as a process:

    python -m tests.fakes.unkey_server --host 127.0.0.1 --port 0 --root-key K --api-id A

which prints `fake-unkey ready <base url>` once it accepts connections.

Control endpoints (no auth), JSON bodies:

- `POST /_fake/fault {"mode": ..., ...}` — what the next `/v2/*` requests get, until cleared:
  `none`; `status` (`status`, default 500, answered with Unkey's error envelope); `rate_limit`
  (429 with `Retry-After: retry_after`); `slow` (wait `delay` s, then answer normally);
  `hang` (never answer until reset); `drop` (carry the request out, then close the
  connection without an answer); `malformed` (200 with broken JSON); `unexpected` (200,
  valid JSON of the wrong shape). `times` (optional) limits the fault to that many requests.
- `POST /_fake/deny {"permissions": ["verify_key", ...]}` — those endpoints answer 403.
- `POST /_fake/clock {"now": "2026-02-28T00:00:00Z" | null}` — freeze the clock, or follow
  real time again.
- `GET /_fake/requests` — `{"requests": [{method, path, headers, body}]}` as received.
- `POST /_fake/reset` — forget keys, requests, faults, denials; release hung requests.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import secrets
import sys
import threading
import time
from datetime import datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from tests.fakes.unkey_controls import Controls, Fault, FixedClock
from tests.fakes.unkey_state import ApiError, Clock, FakeWorkspace, SystemClock

# path → (permission the root key needs, the workspace operation that answers it)
ROUTES = {
    "/v2/keys.createKey": ("create_key", FakeWorkspace.create_key),
    "/v2/keys.verifyKey": ("verify_key", FakeWorkspace.verify_key),
    "/v2/keys.getKey": ("read_key", FakeWorkspace.get_key),
    "/v2/keys.whoami": ("read_key", FakeWorkspace.whoami),
    "/v2/keys.updateCredits": ("update_key", FakeWorkspace.update_credits),
    "/v2/keys.updateKey": ("update_key", FakeWorkspace.update_key),
    "/v2/keys.rerollKey": ("create_key", FakeWorkspace.reroll_key),
    "/v2/keys.deleteKey": ("delete_key", FakeWorkspace.delete_key),
    "/v2/apis.listKeys": ("read_key", FakeWorkspace.list_keys),
}
PERMISSIONS = {path: permission for path, (permission, _) in ROUTES.items()}
LISTS = {"/v2/apis.listKeys"}  # answer {data, pagination} rather than {data}


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"  # keep-alive, like the real API
    disable_nagle_algorithm = True  # headers and body go out as separate writes
    server: _Server

    def log_message(self, format: str, *args: Any) -> None:  # quiet
        pass

    def do_GET(self) -> None:
        if self.path == "/_fake/requests":
            with self.server.controls.lock:
                recorded = list(self.server.controls.requests)
            self._send(200, {"requests": recorded})
        else:
            self._send(404, {"error": "not found"})

    def do_POST(self) -> None:
        raw = self.rfile.read(int(self.headers.get("Content-Length") or 0))
        if self.path.startswith("/_fake/"):
            self._control(self.path.removeprefix("/_fake/"), json.loads(raw or b"{}"))
            return
        try:
            body: Any = json.loads(raw)
        except ValueError:
            body = raw.decode(errors="replace")
        controls = self.server.controls
        with controls.lock:
            controls.requests.append(
                {
                    "method": "POST",
                    "path": self.path,
                    "headers": {name.lower(): value for name, value in self.headers.items()},
                    "body": body,
                }
            )
        if self._faulted(controls.take_fault(), body):
            return
        try:
            answer = self._api(body)
        except ApiError as exc:
            self._error(exc)
            return
        if self.path not in LISTS:
            answer = {"data": answer}
        self._send(200, {"meta": _meta(), **answer})

    def _faulted(self, fault: Fault, body: Any) -> bool:
        if fault.mode == "slow":
            time.sleep(fault.delay)
            return False
        if fault.mode == "hang":
            self.server.controls.release.wait()
            self.close_connection = True
            return True
        if fault.mode == "drop":
            with contextlib.suppress(ApiError):
                self._api(body)  # the request takes effect; its answer is lost
            self.close_connection = True
            return True
        if fault.mode == "status":
            self._error(ApiError(fault.status, "Injected", "fault injected by the fake"))
        elif fault.mode == "rate_limit":
            error = ApiError(429, "Too Many Requests", "workspace rate limit")
            self._error(error, headers={"Retry-After": str(fault.retry_after)})
        elif fault.mode == "malformed":
            self._send_raw(200, b'{"meta": {"requestId": "req_x"}, "data": {"valid": tr')
        elif fault.mode == "unexpected":
            self._send(200, {"meta": _meta(), "data": ["not", "an", "object"]})
        else:
            return False
        return True

    def _api(self, body: Any) -> dict[str, Any]:
        auth = self.headers.get("Authorization")
        if auth is None or not auth.startswith("Bearer "):
            raise ApiError(400, "Bad Request", "Authorization: Bearer <root key> is required")
        if not secrets.compare_digest(auth.removeprefix("Bearer "), self.server.root_key):
            raise ApiError(401, "Unauthorized", "the root key is not valid")
        route = ROUTES.get(self.path)
        if route is None:
            raise ApiError(404, "Not Found", f"no route {self.path}")
        permission, operation = route
        if permission in self.server.controls.denied:
            raise ApiError(403, "Forbidden", f"the root key lacks api.*.{permission}")
        if not isinstance(body, dict):
            raise ApiError(400, "Bad Request", "the body must be a JSON object")
        return operation(self.server.workspace, body)

    def _control(self, name: str, body: dict[str, Any]) -> None:
        server, controls = self.server, self.server.controls
        if name == "fault":
            try:
                fault = Fault(**body)
            except TypeError as exc:
                self._send(400, {"error": str(exc)})
                return
            with controls.lock:
                controls.fault = fault
        elif name == "deny":
            controls.denied = set(body.get("permissions", []))
        elif name == "clock":
            now = body.get("now")
            server.workspace.clock = (
                SystemClock() if now is None else FixedClock(datetime.fromisoformat(now))
            )
        elif name == "reset":
            server.reset()
        else:
            self._send(404, {"error": f"no control {name!r}"})
            return
        self._send(200, {"ok": True})

    def _error(self, exc: ApiError, headers: dict[str, str] | None = None) -> None:
        error: dict[str, Any] = {
            "title": exc.title,
            "detail": exc.detail,
            "status": exc.status,
            "type": f"https://unkey.com/docs/errors/{exc.title.lower().replace(' ', '_')}",
        }
        payload: dict[str, Any] = {"meta": _meta(), "error": error}
        if exc.status == 400:
            error["errors"] = exc.errors or [{"location": "body", "message": exc.detail}]
        # The spec documents the rate limit answer alone as problem+json.
        content_type = "application/problem+json" if exc.status == 429 else "application/json"
        self._send(exc.status, payload, headers, content_type)

    def _send(
        self,
        status: int,
        payload: Any,
        headers: dict[str, str] | None = None,
        content_type: str = "application/json",
    ) -> None:
        self._send_raw(status, json.dumps(payload).encode(), headers, content_type)

    def _send_raw(
        self,
        status: int,
        raw: bytes,
        headers: dict[str, str] | None = None,
        content_type: str = "application/json",
    ) -> None:
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(raw)))
        for name, value in (headers or {}).items():
            self.send_header(name, value)
        self.end_headers()
        self.wfile.write(raw)


def _meta() -> dict[str, str]:
    return {"requestId": "req_" + secrets.token_hex(8)}


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    request_queue_size = 256  # 100 concurrent connects must not overflow the listen backlog

    def __init__(self, address: tuple[str, int], root_key: str, workspace: FakeWorkspace) -> None:
        super().__init__(address, _Handler)
        self.root_key = root_key
        self.workspace = workspace
        self.initial_clock = workspace.clock
        self.controls = Controls()

    def reset(self) -> None:
        old = self.controls
        self.controls = Controls()
        old.release.set()
        self.workspace.reset()
        self.workspace.clock = self.initial_clock

    def handle_error(self, request: Any, client_address: Any) -> None:
        # A client that gave up (timeout) closed the socket under us: expected, not news.
        if not isinstance(sys.exc_info()[1], ConnectionError):
            super().handle_error(request, client_address)


class FakeUnkeyServer:
    """The fake in a background thread. `clock` drives refills and expiry (default: real time).

    Tests in the same process may use `workspace`, `controls` and the methods below directly;
    the same controls are reachable over HTTP under `/_fake/`.
    """

    def __init__(
        self,
        *,
        root_key: str = "unkey_root_test",
        api_id: str = "api_test",
        host: str = "127.0.0.1",
        port: int = 0,
        clock: Clock | None = None,
    ) -> None:
        self.root_key, self.api_id = root_key, api_id
        self.workspace = FakeWorkspace(api_id=api_id, clock=clock or SystemClock())
        self._server = _Server((host, port), root_key, self.workspace)
        self._thread = threading.Thread(
            target=self._server.serve_forever, kwargs={"poll_interval": 0.02}, daemon=True
        )

    @property
    def base_url(self) -> str:
        host, port = self._server.server_address[:2]
        return f"http://{host!s}:{port}"

    def start(self) -> FakeUnkeyServer:
        self._thread.start()
        return self

    def stop(self) -> None:
        self._server.controls.release.set()
        self._server.shutdown()
        self._server.server_close()
        self._thread.join(timeout=5)

    def set_clock(self, clock: Clock | None) -> None:
        """Share a clock with the test (e.g. a FrozenClock); None follows real time."""
        self.workspace.clock = clock or SystemClock()

    def set_now(self, now: datetime | None) -> None:
        self.set_clock(None if now is None else FixedClock(now))

    def set_fault(self, mode: str, **params: Any) -> None:
        fault = Fault(mode=mode, **params)
        with self._server.controls.lock:
            self._server.controls.fault = fault

    def deny(self, *permissions: str) -> None:
        self._server.controls.denied = set(permissions)

    def requests(self, path: str | None = None) -> list[dict[str, Any]]:
        with self._server.controls.lock:
            recorded = list(self._server.controls.requests)
        return [r for r in recorded if path is None or r["path"] == path]

    def reset(self) -> None:
        self._server.reset()


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description="A fake Unkey v2 API for tests.")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=0)
    parser.add_argument("--root-key", required=True)
    parser.add_argument("--api-id", required=True)
    args = parser.parse_args(argv)
    server = FakeUnkeyServer(
        root_key=args.root_key, api_id=args.api_id, host=args.host, port=args.port
    )
    print(f"fake-unkey ready {server.base_url}", flush=True)
    try:
        server._server.serve_forever()
    except KeyboardInterrupt:
        pass
    finally:
        server._server.server_close()
    sys.exit(0)


if __name__ == "__main__":
    main()
