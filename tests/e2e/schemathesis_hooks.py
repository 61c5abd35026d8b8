"""Schemathesis hooks for tests/e2e/test_schema_fuzz.py (loaded through SCHEMATHESIS_HOOKS).

An Idempotency-Key means "this is the same request": reusing one with another body is a 422
by design (the document says so; tests/http cover it). A fuzzer that draws the same short key
for different bodies would report that as valid data rejected, so every valid key it draws
is made unique. Invalid keys (empty, too long) are left as drawn, to be refused.

A submit's `webhook.url` must resolve to a public address, which no drawn host can do on a
machine without DNS: every drawn webhook would be a 422 `invalid_webhook_url` that the fuzzer
reports as valid data rejected. So drawn `webhook` members are dropped from the bodies; the
webhook rules have their own tests (tests/http/test_webhooks_edge.py, tests/e2e/test_webhooks.py).

An operator's `expires_at` must lie in the future, which no JSON Schema can state: a drawn date
in the past is moved a day past now (the rule has its own test in
tests/unit/test_operator_service.py); every other drawn value is sent as drawn.
"""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

import schemathesis

_MAX = 255


def _is_past(value: str) -> bool:
    try:
        moment = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        return False  # not a date: sent as drawn, to be refused
    return moment.tzinfo is not None and moment <= datetime.now(UTC)


@schemathesis.hook
def before_call(context: Any, case: schemathesis.Case, **kwargs: Any) -> None:
    if isinstance(case.body, dict):
        case.body.pop("webhook", None)
        expires = case.body.get("expires_at")
        if isinstance(expires, str) and _is_past(expires):
            case.body["expires_at"] = (datetime.now(UTC) + timedelta(days=1)).isoformat()
    headers = case.headers or {}
    for name in list(headers):
        value = headers[name]
        if name.lower() == "idempotency-key" and isinstance(value, str) and 1 <= len(value) <= _MAX:
            suffix = uuid.uuid4().hex
            headers[name] = value[: _MAX - len(suffix) - 1] + "-" + suffix
