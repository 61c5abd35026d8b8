"""Raw v2 calls to the fake Unkey, and the shape every error answer must have."""

from __future__ import annotations

from typing import Any

import httpx

from tests.fakes.unkey_server import FakeUnkeyServer


class RawUnkey:
    """Raw v2 calls to a fake: `post("keys.getKey", body)` answers the httpx response."""

    def __init__(self, fake: FakeUnkeyServer) -> None:
        self.fake = fake
        self.http = httpx.Client(base_url=fake.base_url, timeout=5)
        self.auth = {"Authorization": f"Bearer {fake.root_key}"}

    def post(self, op: str, body: Any, headers: dict[str, str] | None = None) -> httpx.Response:
        path = f"/v2/{op}" if "." in op else f"/v2/keys.{op}"
        return self.http.post(path, json=body, headers=self.auth | (headers or {}))

    def data(self, op: str, body: Any) -> Any:
        response = self.post(op, body)
        assert response.status_code == 200, response.text
        return response.json()["data"]

    def create(self, **fields: Any) -> dict[str, str]:
        return self.data("createKey", {"apiId": self.fake.api_id, "prefix": "ig", **fields})


def assert_error(response: httpx.Response, status: int) -> dict[str, Any]:
    """Unkey's error envelope: meta.requestId, error{title, detail, status, type}, and on a
    400 the `errors` list."""
    assert response.status_code == status, response.text
    payload = response.json()
    assert set(payload) == {"meta", "error"}
    assert payload["meta"]["requestId"].startswith("req_")
    error = payload["error"]
    assert {"title", "detail", "status", "type"} <= set(error) and error["status"] == status
    assert ("errors" in error) is (status == 400)
    if status == 400:
        assert all({"location", "message"} <= set(item) for item in error["errors"])
    return error
